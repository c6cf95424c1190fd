// What one write changed, as its version record says it: the fan-out updates only the source shards
// a stream batch touched instead of reading every policy (sharded-snapshot-store.ts). Every write that
// moves the version writes this description in the same transaction (versioned-write.ts), so the
// record of version v describes exactly the change from v-1 to v. A record without one (written
// before descriptions existed, or a change too large to describe) sends the fan-out to a full read.
import * as z from 'zod/mini';
import type { SecurityGroup } from './security-group.js';
import { type ShardKey, shardKeyOfBinding, shardKeyOfSource } from './shard-keys.js';

/** A policy as the fan-out indexes it per shard: the POLICY item's fields. */
export interface PolicyRef {
  readonly id: string;
  readonly source_type: 'app' | 'space' | 'default';
  /** '' for `default`. */
  readonly source_id: string;
  readonly destination_id: string;
  /** Absent: every lifecycle. */
  readonly app_lifecycle?: 'running' | 'staging';
}

/** The change one version made. */
export interface VersionChanges {
  /** Policies created. */
  readonly added: readonly PolicyRef[];
  /** Policies deleted. */
  readonly removed: readonly PolicyRef[];
  /**
   * Shards whose content may differ for another reason: the users of an updated destination, the
   * bindings of a security group before and after its change.
   */
  readonly keys: readonly ShardKey[];
}

export const NO_CHANGES: VersionChanges = { added: [], removed: [], keys: [] };

/**
 * Above this many entries a write is not described (its record sends the fan-out to a full read):
 * a version record is one item of at most 400 KB, and a description this big is no cheaper to apply.
 */
export const MAX_DESCRIBED_CHANGES = 1000;

/** The description to store, or undefined when it is too large to be worth one. */
export function describable(changes: VersionChanges): VersionChanges | undefined {
  const size = changes.added.length + changes.removed.length + changes.keys.length;
  return size > MAX_DESCRIBED_CHANGES ? undefined : changes;
}

/** Where a policy lives: `default` policies in the global shard, others in their source's. */
export function shardKeyOfPolicy(policy: Pick<PolicyRef, 'source_type' | 'source_id'>): ShardKey {
  return policy.source_type === 'default'
    ? shardKeyOfBinding('global', '')
    : shardKeyOfSource(policy.source_type, policy.source_id);
}

/** The shards a security group's bindings reach (global when enabled for either lifecycle). */
export function shardKeysOfGroup(group: Pick<SecurityGroup, 'globallyEnabled' | 'bindings'>): ShardKey[] {
  const keys = new Set<ShardKey>();
  for (const lifecycle of ['running', 'staging'] as const) {
    if (group.globallyEnabled[lifecycle]) keys.add(shardKeyOfBinding('global', ''));
    for (const space of group.bindings[lifecycle].space) keys.add(shardKeyOfBinding('space', space));
    for (const organization of group.bindings[lifecycle].organization) {
      keys.add(shardKeyOfBinding('organization', organization));
    }
  }
  return [...keys].sort();
}

/**
 * A policy's fields and nothing else, in one order: stored and compared as text, and a caller's
 * object may carry more than a PolicyRef (or undefined values the document client would refuse).
 */
export function policyRefFields(policy: PolicyRef): PolicyRef {
  return {
    id: policy.id,
    source_type: policy.source_type,
    source_id: policy.source_id,
    destination_id: policy.destination_id,
    ...(policy.app_lifecycle === undefined ? {} : { app_lifecycle: policy.app_lifecycle }),
  };
}

/** Every shard a description touches: its own keys and those of the policies it adds or removes. */
export function touchedShardKeys(changes: VersionChanges): ShardKey[] {
  return [...new Set([...changes.keys, ...[...changes.added, ...changes.removed].map(shardKeyOfPolicy)])].sort();
}

export const policyRefSchema = z.object({
  id: z.string(),
  source_type: z.enum(['app', 'space', 'default']),
  source_id: z.string(),
  destination_id: z.string(),
  app_lifecycle: z.optional(z.enum(['running', 'staging'])),
});

/** As stored in the version record's `changes` attribute. */
export const versionChangesSchema = z.object({
  added: z.array(policyRefSchema),
  removed: z.array(policyRefSchema),
  keys: z.array(z.string()),
});
