import { describe, expect, it } from 'vitest';
import { prng } from '../../../bench/lib/agent-scenario.js';
import type { SecurityGroup } from '../../../core/domain/security-group.js';
import {
  applyChanges,
  policyListsOf,
  policyRefOf,
  rebuildShards,
  samePolicies,
} from '../../../core/domain/shard-updates.js';
import { buildSnapshot } from '../../../core/domain/snapshot.js';
import { shardContent, splitSnapshot } from '../../../core/domain/source-shards.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';
import { type PolicyRef, shardKeyOfPolicy } from '../../../core/domain/version-changes.js';

function destination(index: number): Destination {
  // Some destinations share their addresses, so that rules of different policies are equal.
  const octet = index % 5;
  if (index % 4 === 3) {
    return {
      id: `d${String(index).padStart(3, '0')}`,
      name: `web-${index}`,
      ips: [],
      hosts: [`h${octet}.example.com`],
      ports: [{ start: 443, end: 443 }],
      protocol: 'https',
    };
  }
  return {
    id: `d${String(index).padStart(3, '0')}`,
    name: `db-${index}`,
    ips: [{ start: `10.0.${octet}.1`, end: `10.0.${octet}.9` }],
    ports: [{ start: 5432, end: 5432 + (index % 2) }],
    protocol: index % 3 === 0 ? 'udp' : 'tcp',
  };
}

function group(index: number, random: () => number): SecurityGroup {
  const pick = (ids: readonly string[]) => ids.filter(() => random() < 0.3).sort();
  return {
    guid: `g${index}`,
    name: `group-${index}`,
    createdAt: `2026-12-0${1 + (index % 5)}T00:00:00.000Z`,
    updatedAt: '2026-12-05T00:00:00.000Z',
    globallyEnabled: { running: index === 0, staging: index === 1 },
    rules: [
      { protocol: 'tcp', destination: `10.0.${index % 5}.1-10.0.${index % 5}.9`, ports: '5432' },
      { protocol: 'udp', destination: `192.168.${index}.0/24`, ports: '53' },
    ],
    bindings: {
      running: { space: pick(['s1', 's2', 's3']), organization: pick(['o1', 'o2']) },
      staging: { space: pick(['s1', 's2', 's3']), organization: pick(['o1']) },
    },
  };
}

/** A random state: destinations, policies of every kind of source and lifecycle, and groups. */
function state(seed: number): { policies: EgressPolicy[]; groups: SecurityGroup[]; destinations: Destination[] } {
  const random = prng(seed);
  const destinations = Array.from({ length: 24 }, (_, index) => destination(index));
  const sources = [
    ...['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => ({ type: 'app' as const, id })),
    ...['s1', 's2', 's3'].map((id) => ({ type: 'space' as const, id })),
    { type: 'default' as const, id: '' },
  ];
  const seen = new Set<string>();
  const policies: EgressPolicy[] = [];
  for (let index = 0; index < 80; index += 1) {
    const source = sources[Math.floor(random() * sources.length)] ?? { type: 'app' as const, id: 'a1' };
    const target = destinations[Math.floor(random() * destinations.length)] ?? destination(0);
    const roll = random();
    const lifecycle = roll < 0.2 ? 'running' : roll < 0.3 ? 'staging' : undefined;
    const identity = `${source.type}/${source.id}/${target.id}/${lifecycle}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    policies.push({
      id: `p${String(Math.floor(random() * 1e6)).padStart(6, '0')}-${index}`,
      source,
      destination: target,
      ...(lifecycle === undefined ? {} : { app_lifecycle: lifecycle }),
    });
  }
  // A full build lists policies by id, as the table's POLICY partition returns them.
  policies.sort((a, b) => (a.id < b.id ? -1 : 1));
  const groups = Array.from({ length: 4 }, (_, index) => group(index, random));
  return { policies, groups, destinations };
}

const contents = (shards: ReadonlyMap<string, unknown>) => [...shards.keys()].sort();

describe('shards rebuilt from their own policy lists', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`equal a whole build's shards for every touched key (seed ${seed})`, () => {
      const { policies, groups, destinations } = state(seed);
      const whole = splitSnapshot(buildSnapshot(9, policies, groups));
      const lists = policyListsOf(policies);
      const random = prng(seed + 100);
      const allKeys = [...new Set([...whole.keys(), ...lists.keys()])].sort();
      // A few keys at a time, as a batch touches them.
      const keys = allKeys.filter(() => random() < 0.3);
      expect(keys.length).toBeGreaterThan(0);
      const rebuilt = rebuildShards(9, keys, lists, destinations, groups);
      expect(contents(rebuilt)).toEqual(keys);
      for (const key of keys) {
        const expected = whole.get(key);
        const actual = rebuilt.get(key);
        expect(actual === undefined ? undefined : shardContent(actual), key).toBe(
          expected === undefined ? undefined : shardContent(expected),
        );
      }
    });
  }

  it('leaves a key with nothing undefined, and refuses a list naming an unknown destination', () => {
    const { groups, destinations } = state(1);
    const rebuilt = rebuildShards(3, ['app:nobody'], new Map([['app:nobody', []]]), destinations, groups);
    expect(rebuilt.get('app:nobody')).toBeUndefined();
    const ref: PolicyRef = { id: 'p1', source_type: 'app', source_id: 'x', destination_id: 'missing' };
    expect(() => rebuildShards(3, ['app:x'], new Map([['app:x', [ref]]]), destinations, groups)).toThrow(/missing/);
  });
});

describe('applyChanges', () => {
  const ref = (id: string, destination: string, lifecycle?: 'running'): PolicyRef => ({
    id,
    source_type: 'app',
    source_id: 'a1',
    destination_id: destination,
    ...(lifecycle === undefined ? {} : { app_lifecycle: lifecycle }),
  });

  it('applies versions in order: the last change of a policy decides', () => {
    const lists = new Map([['app:a1', [ref('p1', 'd1')]]]);
    const after = applyChanges(lists, [
      { added: [ref('p2', 'd2')], removed: [], keys: [] },
      { added: [], removed: [ref('p2', 'd2')], keys: [] },
      { added: [ref('p3', 'd2', 'running')], removed: [ref('p1', 'd1')], keys: [] },
    ]);
    expect(after.get('app:a1')).toEqual([ref('p3', 'd2', 'running')]);
    // The input is not changed.
    expect(lists.get('app:a1')).toEqual([ref('p1', 'd1')]);
  });

  it('matches by destination, source and lifecycle: a list that saw a change already ends the same', () => {
    // A full publish may list a policy created after the version it is labelled with.
    const lists = new Map([['app:a1', [ref('p9', 'd1')]]]);
    expect(applyChanges(lists, [{ added: [ref('p9', 'd1')], removed: [], keys: [] }]).get('app:a1')).toEqual([
      ref('p9', 'd1'),
    ]);
    expect(applyChanges(lists, [{ added: [], removed: [ref('p9', 'd1')], keys: [] }]).get('app:a1')).toEqual([]);
  });

  it('refuses a change to a shard that was not read', () => {
    expect(() => applyChanges(new Map(), [{ added: [ref('p1', 'd1')], removed: [], keys: [] }])).toThrow(/app:a1/);
  });

  it('keeps lists sorted by id, as policyListsOf makes them', () => {
    const { policies } = state(2);
    const lists = policyListsOf([...policies].reverse());
    for (const [key, list] of lists) {
      expect(list.map((policy) => policy.id)).toEqual(list.map((policy) => policy.id).sort());
      for (const policy of list) expect(shardKeyOfPolicy(policy)).toBe(key);
    }
    const first = policies[0];
    if (first === undefined) throw new Error('no policies');
    const key = shardKeyOfPolicy(policyRefOf(first));
    const without = applyChanges(lists, [{ added: [], removed: [policyRefOf(first)], keys: [] }]);
    const back = applyChanges(without, [{ added: [policyRefOf(first)], removed: [], keys: [] }]);
    expect(samePolicies(back.get(key), lists.get(key))).toBe(true);
    expect(samePolicies(without.get(key), lists.get(key))).toBe(false);
  });
});
