// What a publish of described changes (version-changes.ts) writes, worked out from the pointer and
// a stream batch's descriptions: the touched shards rebuilt from their policy lists, and which of
// them (and of the lists) differ from what is stored. Reads only; the store writes the plan, in one
// transaction when it is small or under its lease (sharded-snapshot-store.ts).
import type { ShardKey } from '../domain/shard-keys.js';
import { applyChanges, rebuildShards, samePolicies } from '../domain/shard-updates.js';
import { decodeSnapshot, type PolicySnapshot, sha256 } from '../domain/snapshot.js';
import type { ChangePublishRequest, SnapshotPointer } from '../domain/snapshot-store.js';
import { shardContent } from '../domain/source-shards.js';
import { type PolicyRef, touchedShardKeys, type VersionChanges } from '../domain/version-changes.js';
import type { ShardItems, StoredShard } from './shard-items.js';

export interface DescribedPlan {
  readonly version: number;
  readonly epoch: string;
  /** The pointer this plan continues: the new one is only valid on top of it. */
  readonly previous: SnapshotPointer & { readonly shardLog: readonly number[] };
  /** Every shard the descriptions touched, rebuilt (undefined: now empty). */
  readonly next: ReadonlyMap<ShardKey, PolicySnapshot | undefined>;
  /** Their policy lists after the changes. */
  readonly lists: ReadonlyMap<ShardKey, readonly PolicyRef[]>;
  /** The touched shards whose content differs from the stored one: to write, and to tell cells of. */
  readonly changed: readonly ShardKey[];
  /** The touched shards whose policy list differs from the stored one. */
  readonly listKeys: readonly ShardKey[];
}

/** A plan, or the version already published, or why only a whole publish can do it. */
export type DescribedOutcome = DescribedPlan | { readonly current: number } | { readonly full: string };

export async function planDescribedPublish(
  items: Pick<ShardItems, 'readPolicies' | 'readShards'>,
  epoch: string,
  previous: SnapshotPointer | undefined,
  request: ChangePublishRequest,
): Promise<DescribedOutcome> {
  if (previous === undefined || previous.epoch !== epoch || previous.shardLog === undefined) {
    return { full: 'no sharded pointer of this table yet' };
  }
  if (previous.policyIndex !== true) return { full: "the shards' policy lists are not complete yet" };
  const newest = Math.max(...request.changes.keys());
  if (newest <= previous.version) return { current: previous.version };
  const chain: VersionChanges[] = [];
  let version = previous.version;
  for (let described = request.changes.get(version + 1); described !== undefined; ) {
    chain.push(described);
    version += 1;
    described = request.changes.get(version + 1);
  }
  if (version < newest) return { full: `version ${version + 1} is not in this batch or does not describe its change` };

  const keys = [...new Set(chain.flatMap(touchedShardKeys))].sort();
  // The groups do not depend on the lists: read beside them.
  const [storedLists, storedShards, groups] = await Promise.all([
    items.readPolicies(keys, epoch),
    items.readShards(keys),
    request.read.securityGroups(),
  ]);
  const lists = applyChanges(storedLists, chain);
  const destinationIds = [...new Set([...lists.values()].flat().map((policy) => policy.destination_id))];
  const destinations = await request.read.destinations(destinationIds);
  let next: Map<ShardKey, PolicySnapshot | undefined>;
  try {
    next = rebuildShards(version, keys, lists, destinations, groups);
  } catch (error) {
    return { full: `the touched shards could not be rebuilt: ${(error as Error).message}` };
  }
  return {
    version,
    epoch,
    previous: { ...previous, shardLog: previous.shardLog },
    next,
    lists,
    changed: keys.filter((key) => !sameShard(storedShards.get(key), next.get(key), epoch)),
    listKeys: keys.filter((key) => !samePolicies(storedLists.get(key), lists.get(key))),
  };
}

/** A stored shard and a rebuilt one enforce the same (both absent counts). */
function sameShard(stored: StoredShard | undefined, rebuilt: PolicySnapshot | undefined, epoch: string): boolean {
  if (stored === undefined || rebuilt === undefined) return stored === rebuilt;
  if (stored.epoch !== epoch) return false;
  return shardContent(decodeSnapshot(stored.bytes, sha256(stored.bytes))) === shardContent(rebuilt);
}
