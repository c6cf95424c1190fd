import { describe, expect, it } from 'vitest';
import {
  describable,
  MAX_DESCRIBED_CHANGES,
  NO_CHANGES,
  type PolicyRef,
  shardKeyOfPolicy,
  shardKeysOfGroup,
  touchedShardKeys,
  versionChangesSchema,
} from '../../../core/domain/version-changes.js';

const policy = (overrides: Partial<PolicyRef> = {}): PolicyRef => ({
  id: 'p1',
  source_type: 'app',
  source_id: 'app-1',
  destination_id: 'd1',
  ...overrides,
});

const NONE = { space: [], organization: [] };

describe('shardKeyOfPolicy', () => {
  it('puts app and space policies in their source shard and default ones in the global shard', () => {
    expect(shardKeyOfPolicy({ source_type: 'app', source_id: 'a' })).toBe('app:a');
    expect(shardKeyOfPolicy({ source_type: 'space', source_id: 's' })).toBe('space:s');
    expect(shardKeyOfPolicy({ source_type: 'default', source_id: '' })).toBe('global');
  });
});

describe('shardKeysOfGroup', () => {
  it('is empty for a group bound nowhere', () => {
    expect(
      shardKeysOfGroup({
        globallyEnabled: { running: false, staging: false },
        bindings: { running: NONE, staging: NONE },
      }),
    ).toEqual([]);
  });

  it('gives every bound space and organisation of both lifecycles once, and global when enabled for either, sorted', () => {
    expect(
      shardKeysOfGroup({
        globallyEnabled: { running: false, staging: true },
        bindings: {
          running: { space: ['s2', 's1'], organization: ['o1'] },
          staging: { space: ['s1'], organization: ['o2', 'o1'] },
        },
      }),
    ).toEqual(['global', 'organization:o1', 'organization:o2', 'space:s1', 'space:s2']);
    expect(
      shardKeysOfGroup({
        globallyEnabled: { running: true, staging: true },
        bindings: { running: NONE, staging: NONE },
      }),
    ).toEqual(['global']);
  });
});

describe('describable', () => {
  it('keeps a description up to the limit and drops one above it, counting all three lists', () => {
    const keys = Array.from({ length: MAX_DESCRIBED_CHANGES - 2 }, (_, n) => `app:${n}`);
    const atLimit = { added: [policy()], removed: [policy({ id: 'p2' })], keys };
    expect(describable(atLimit)).toBe(atLimit);
    expect(describable({ ...atLimit, keys: [...keys, 'app:one-more'] })).toBeUndefined();
    expect(describable({ ...atLimit, added: [policy(), policy({ id: 'p3' })] })).toBeUndefined();
    expect(describable({ ...atLimit, removed: [policy(), policy({ id: 'p3' })] })).toBeUndefined();
    expect(describable(NO_CHANGES)).toBe(NO_CHANGES);
  });
});

describe('touchedShardKeys', () => {
  it('joins its keys with the shards of the policies added and removed, once each, sorted', () => {
    expect(
      touchedShardKeys({
        added: [policy(), policy({ id: 'p2', source_type: 'default', source_id: '' })],
        removed: [policy({ id: 'p3', source_type: 'space', source_id: 's' })],
        keys: ['app:app-1', 'organization:o'],
      }),
    ).toEqual(['app:app-1', 'global', 'organization:o', 'space:s']);
    expect(touchedShardKeys(NO_CHANGES)).toEqual([]);
  });
});

describe('versionChangesSchema', () => {
  it('reads a stored description, with or without a lifecycle', () => {
    const stored = {
      added: [policy({ app_lifecycle: 'staging' })],
      removed: [policy({ source_type: 'default', source_id: '' })],
      keys: ['global'],
    };
    expect(versionChangesSchema.parse(stored)).toEqual(stored);
  });

  it('refuses what a writer never stores', () => {
    expect(versionChangesSchema.safeParse({ added: [], removed: [] }).success).toBe(false);
    expect(versionChangesSchema.safeParse({ ...NO_CHANGES, added: [{ id: 'p' }] }).success).toBe(false);
    expect(
      versionChangesSchema.safeParse({ ...NO_CHANGES, added: [{ ...policy(), source_type: 'org' }] }).success,
    ).toBe(false);
    expect(versionChangesSchema.safeParse({ ...NO_CHANGES, keys: [1] }).success).toBe(false);
  });
});
