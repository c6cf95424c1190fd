// import-asgs' reading of `cf curl /v3/security_groups` output and its plan: create what is missing,
// patch only what differs, bind only missing spaces, and plan nothing for what is already there.
import { describe, expect, it } from 'vitest';
import type { SecurityGroup } from '../../ctl/answers.js';
import { importedGroups } from '../../ctl/asg-export.js';
import { planGroup } from '../../ctl/asg-import-plan.js';
import { CommandFailed } from '../../ctl/errors.js';

const SPACE_A = '3a9c0f6e-1b2d-4c5e-8f7a-9b0c1d2e3f4a';
const SPACE_B = '65a9e0b3-d78f-4e70-a1a8-d0e7f7b2c6af';

const exported = {
  guid: 'b85a788e-671f-4549-814d-e34cdb2f539a',
  name: 'my-group0',
  globally_enabled: { running: true, staging: false },
  rules: [{ protocol: 'tcp', destination: '10.10.10.0/24', ports: '443,80' }],
  relationships: {
    running_spaces: { data: [{ guid: SPACE_A }] },
    staging_spaces: { data: [{ guid: SPACE_B.toUpperCase() }] },
  },
  links: { self: { href: 'https://api.example.com/v3/security_groups/b85a788e' } },
};

function stored(overrides: Partial<SecurityGroup> = {}): SecurityGroup {
  return {
    guid: '11111111-2222-4333-8444-555555555555',
    name: 'my-group0',
    // Same rule, keys in another order: not a change.
    rules: [{ ports: '443,80', destination: '10.10.10.0/24', protocol: 'tcp' }],
    globally_enabled: { running: true, staging: false },
    relationships: {
      running_spaces: { data: [{ guid: SPACE_A }] },
      staging_spaces: { data: [{ guid: SPACE_B }] },
      running_organizations: { data: [] },
      staging_organizations: { data: [] },
    },
    ...overrides,
  };
}

describe('importedGroups', () => {
  it('reads a V3 list, a bare array and an array of pages; GUIDs in lower case; a repeated group once', () => {
    const [fromList] = importedGroups({ pagination: {}, resources: [exported] }, 'asgs.json');
    expect(fromList).toEqual({
      name: 'my-group0',
      rules: exported.rules,
      globallyEnabled: { running: true, staging: false },
      runningSpaces: [SPACE_A],
      stagingSpaces: [SPACE_B],
    });
    expect(importedGroups([exported], 'asgs.json')).toEqual([fromList]);
    const otherPage = {
      resources: [{ ...exported, relationships: { running_spaces: { data: [{ guid: SPACE_B }] } } }],
    };
    expect(importedGroups([{ resources: [exported] }, otherPage], 'asgs.json')).toEqual([
      { ...fromList, runningSpaces: [SPACE_A, SPACE_B] },
    ]);
  });

  it('refuses what is not such output, naming the file and the field', () => {
    expect(() => importedGroups({ resources: [{ rules: [] }] }, 'asgs.json')).toThrow(CommandFailed);
    expect(() => importedGroups({ resources: [{ rules: [] }] }, 'asgs.json')).toThrow(
      /asgs\.json is not the output of `cf curl \/v3\/security_groups`: .*name/,
    );
  });
});

describe('planGroup', () => {
  const [group] = importedGroups([exported], 'asgs.json');
  if (group === undefined) throw new Error('no group');

  it('creates a missing group whole, bindings included', () => {
    expect(planGroup(group, undefined)).toEqual({
      kind: 'create',
      name: 'my-group0',
      body: {
        name: 'my-group0',
        rules: exported.rules,
        globally_enabled: { running: true, staging: false },
        relationships: {
          running_spaces: { data: [{ guid: SPACE_A }] },
          staging_spaces: { data: [{ guid: SPACE_B }] },
        },
      },
      bindings: 2,
    });
  });

  it('plans nothing for a group that is as imported', () => {
    expect(planGroup(group, stored())).toEqual({ kind: 'unchanged', name: 'my-group0', guid: stored().guid });
  });

  it('patches only what differs and binds only the missing spaces; extra bindings stay', () => {
    const change = planGroup(
      group,
      stored({
        rules: [{ protocol: 'all', destination: '0.0.0.0/0' }],
        globally_enabled: { running: false, staging: false },
        relationships: {
          running_spaces: { data: [{ guid: 'aaaaaaaa-1b2d-4c5e-8f7a-9b0c1d2e3f4a' }] },
          staging_spaces: { data: [{ guid: SPACE_B }] },
        },
      }),
    );
    expect(change).toEqual({
      kind: 'update',
      name: 'my-group0',
      guid: stored().guid,
      patch: { rules: exported.rules, globally_enabled: { running: true } },
      bind: { running_spaces: [SPACE_A], staging_spaces: [] },
    });
  });
});
