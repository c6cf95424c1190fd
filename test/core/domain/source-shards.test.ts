import { describe, expect, it } from 'vitest';
import { parseContainers, parsePolicies } from '../../../agent/source/files.js';
import { prng, scenario } from '../../../bench/lib/agent-scenario.js';
import { asgScenario } from '../../../bench/lib/asg-scenario.js';
import { GLOBAL_SHARD, hostedShardKeys } from '../../../core/domain/shard-keys.js';
import {
  assertValidSnapshot,
  buildSnapshot,
  type PolicySnapshot,
  snapshotToPolicyList,
} from '../../../core/domain/snapshot.js';
import { type GroupBinding, mergeSecurityGroupsSections } from '../../../core/domain/snapshot-groups.js';
import { changedShardKeys, mergeShards, splitSnapshot } from '../../../core/domain/source-shards.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import type { Container } from '../../../core/plan/model.js';
import { planRules } from '../../../core/plan/plan.js';

/** The snapshot of a policies file (a v1 list, maybe with a security groups section). */
function snapshotOf(policiesText: string, version = 7): PolicySnapshot {
  const list = parsePolicies(policiesText);
  const policies: EgressPolicy[] = list.egress_policies.map((policy) => ({ ...policy }));
  const snapshot = buildSnapshot(version, policies);
  const groups = list.security_groups;
  return groups === undefined
    ? snapshot
    : { ...snapshot, security_groups: mergeSecurityGroupsSections([snapshot.security_groups, groups]) };
}

function withBinding(snapshot: PolicySnapshot, binding: GroupBinding): PolicySnapshot {
  const { rules, bindings } = snapshot.security_groups;
  return { ...snapshot, security_groups: { rules, bindings: [...bindings, binding] } };
}

const plan = (snapshot: PolicySnapshot, containers: readonly Container[]) =>
  JSON.stringify(planRules(snapshotToPolicyList(snapshot), containers));

/** The cell's own shards merged, as a cell reads them. */
function cellSnapshot(whole: PolicySnapshot, containers: readonly Container[]): PolicySnapshot {
  const shards = splitSnapshot(whole);
  return mergeShards(
    whole.version,
    hostedShardKeys(containers).flatMap((key) => shards.get(key) ?? []),
  );
}

/** `count` containers picked at random (seeded) from all of them. */
function someOf(containers: readonly Container[], count: number, seed: number): Container[] {
  const random = prng(seed);
  const pool = [...containers];
  const picked: Container[] = [];
  while (picked.length < count && pool.length > 0) picked.push(...pool.splice(Math.floor(random() * pool.length), 1));
  return picked;
}

describe('source shards', () => {
  const asg = asgScenario();
  const asgContainers = parseContainers(asg.containersText);
  // The scenario binds no group to an organisation: bind the first global rules to one, for running.
  const orgId = asgContainers.find((container) => container.orgId !== undefined)?.orgId ?? 'no-org';
  const asgWhole = withBinding(snapshotOf(asg.policiesText), ['organization', 'running', orgId, [0, 1]]);
  const shared = scenario(60, 20, 1, false, 30);
  const sharedWhole = snapshotOf(shared.policiesText);
  const sharedContainers = parseContainers(shared.containersText);

  it('plans a cell from its own shards exactly as from the whole snapshot (security groups)', () => {
    for (const [count, seed] of [
      [1, 1],
      [12, 2],
      [40, 3],
      [asgContainers.length, 4],
    ] as const) {
      const cell = someOf(asgContainers, count, seed);
      const own = cellSnapshot(asgWhole, cell);
      expect(own.security_groups.rules.length).toBeGreaterThan(0);
      expect(plan(own, cell)).toBe(plan(asgWhole, cell));
    }
  });

  it('plans a cell from its own shards exactly as from the whole snapshot (shared destinations)', () => {
    for (const [count, seed] of [
      [1, 5],
      [7, 6],
      [sharedContainers.length, 7],
    ] as const) {
      const cell = someOf(sharedContainers, count, seed);
      expect(plan(cellSnapshot(sharedWhole, cell), cell)).toBe(plan(sharedWhole, cell));
    }
  });

  it('keeps a destination several of the cell`s sources use once', () => {
    const own = cellSnapshot(sharedWhole, sharedContainers);
    const contents = own.destinations.map((destination) => JSON.stringify(destination));
    expect(new Set(contents).size).toBe(contents.length);
    expect(own.destinations.length).toBe(sharedWhole.destinations.length);
  });

  it('cuts every source and binding into exactly one valid shard', () => {
    const shards = splitSnapshot(asgWhole);
    for (const shard of shards.values()) assertValidSnapshot(shard);
    const sources = [...shards.values()].reduce((sum, shard) => sum + shard.sources.length, 0);
    const bindings = [...shards.values()].reduce((sum, shard) => sum + shard.security_groups.bindings.length, 0);
    expect(sources).toBe(asgWhole.sources.length);
    expect(bindings).toBe(asgWhole.security_groups.bindings.length);
    expect(shards.has(GLOBAL_SHARD)).toBe(true);
    expect([...shards.keys()].some((key) => key.startsWith('organization:'))).toBe(true);
  });

  it('reads a container`s app, space and organisation, and the global shard', () => {
    const keys = hostedShardKeys([
      { appId: 'a1', spaceId: 's1', orgId: 'o1' },
      { appId: 'a2', spaceId: 's1' },
    ]);
    expect(keys).toEqual(['app:a1', 'app:a2', 'global', 'organization:o1', 'space:s1']);
  });

  it('names the shards one change touched: the changed source only, and every user of a changed destination', () => {
    const v1 = scenario(20, 5, 1, false, 10);
    const before = splitSnapshot(snapshotOf(v1.policiesText));
    // changedText moves the first policy's destination: with a pool, every app using it changes.
    const after = splitSnapshot(snapshotOf(v1.changedText, 8));
    const changed = changedShardKeys(before, after);
    const list = parsePolicies(v1.changedText).egress_policies;
    const moved = list[0]?.destination.id;
    const users = [...new Set(list.filter((p) => p.destination.id === moved).map((p) => `app:${p.source.id}`))];
    expect(changed).toEqual(users.sort());
    expect(changed.length).toBeGreaterThan(1);
    // The version alone is no change.
    expect(changedShardKeys(before, splitSnapshot(snapshotOf(v1.policiesText, 9)))).toEqual([]);
    // A source that lost everything is a change too.
    const removed = new Map(before);
    removed.delete('app:app-3');
    expect(changedShardKeys(before, removed)).toEqual(['app:app-3']);
  });
});
