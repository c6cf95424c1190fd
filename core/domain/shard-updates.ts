// Source shards rebuilt from a few sources' policy lists instead of every policy: what a publish of
// described changes (version-changes.ts) computes. A shard depends only on its own source's
// policies and on the security groups bound to it (source-shards.ts), so building the touched
// sources' policies with every group and keeping the touched keys gives the shards a build of the
// whole state would give (test/core/domain/shard-updates.test.ts compares them).
import type { SecurityGroup } from './security-group.js';
import type { ShardKey } from './shard-keys.js';
import { assertValidSnapshot, buildSnapshot, type PolicySnapshot } from './snapshot.js';
import { splitSnapshot } from './source-shards.js';
import type { Destination, EgressPolicy } from './types.js';
import { type PolicyRef, shardKeyOfPolicy, type VersionChanges } from './version-changes.js';

/** One policy per destination, source and lifecycle: the table's guard item says so too. */
const identity = (policy: PolicyRef): string =>
  [policy.destination_id, policy.source_type, policy.source_id, policy.app_lifecycle ?? ''].join('\u0000');

const byId = (a: PolicyRef, b: PolicyRef): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A policy as the fan-out indexes it. */
export function policyRefOf(policy: EgressPolicy): PolicyRef {
  return {
    id: policy.id,
    source_type: policy.source.type,
    source_id: policy.source.id,
    destination_id: policy.destination.id,
    ...(policy.app_lifecycle === undefined ? {} : { app_lifecycle: policy.app_lifecycle }),
  };
}

/** Every policy's ref, by the shard it lives in, each list sorted by id. */
export function policyListsOf(policies: readonly EgressPolicy[]): Map<ShardKey, PolicyRef[]> {
  const lists = new Map<ShardKey, PolicyRef[]>();
  for (const policy of policies) {
    const ref = policyRefOf(policy);
    const key = shardKeyOfPolicy(ref);
    const list = lists.get(key);
    if (list === undefined) lists.set(key, [ref]);
    else list.push(ref);
  }
  for (const list of lists.values()) list.sort(byId);
  return lists;
}

/**
 * The lists after these changes, in version order. Only keys present in `lists` are kept (the caller
 * reads every key the changes touch). Removing and adding go by the policy's identity, not its id,
 * so a list holding a policy the changes already saw (a full publish labelled with an older version)
 * ends the same.
 */
export function applyChanges(
  lists: ReadonlyMap<ShardKey, readonly PolicyRef[]>,
  changes: readonly VersionChanges[],
): Map<ShardKey, PolicyRef[]> {
  const working = new Map([...lists].map(([key, list]) => [key, new Map(list.map((ref) => [identity(ref), ref]))]));
  const of = (ref: PolicyRef): Map<string, PolicyRef> => {
    const list = working.get(shardKeyOfPolicy(ref));
    if (list === undefined) throw new Error(`shard ${shardKeyOfPolicy(ref)} was not read for a change to it`);
    return list;
  };
  for (const change of changes) {
    for (const ref of change.removed) of(ref).delete(identity(ref));
    for (const ref of change.added) of(ref).set(identity(ref), ref);
  }
  return new Map([...working].map(([key, list]) => [key, [...list.values()].sort(byId)]));
}

/** Two lists that hold the same policies, in the same order. */
export function samePolicies(a: readonly PolicyRef[] | undefined, b: readonly PolicyRef[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

/**
 * The shards of `keys` at `version`, from their policy lists (every policy of those keys) and every
 * security group; undefined for a key left empty. Policies go in id order, as a full build lists
 * them, so that shards compare equal to a full build's. Throws when a list names a destination that
 * is not given, or when the result is one a cell would refuse.
 */
export function rebuildShards(
  version: number,
  keys: readonly ShardKey[],
  lists: ReadonlyMap<ShardKey, readonly PolicyRef[]>,
  destinations: readonly Destination[],
  groups: readonly SecurityGroup[],
): Map<ShardKey, PolicySnapshot | undefined> {
  const destinationById = new Map(destinations.map((destination) => [destination.id, destination]));
  const policies = keys
    .flatMap((key) => lists.get(key) ?? [])
    .sort(byId)
    .map((ref): EgressPolicy => {
      const destination = destinationById.get(ref.destination_id);
      if (destination === undefined) {
        throw new Error(`policy ${ref.id} names destination ${ref.destination_id}, which was not found`);
      }
      return {
        id: ref.id,
        source: { type: ref.source_type, id: ref.source_id },
        destination,
        ...(ref.app_lifecycle === undefined ? {} : { app_lifecycle: ref.app_lifecycle }),
      };
    });
  const snapshot = buildSnapshot(version, policies, groups);
  assertValidSnapshot(snapshot);
  const shards = splitSnapshot(snapshot);
  return new Map(keys.map((key) => [key, shards.get(key)]));
}
