// The snapshot store that also keeps the desired state cut by source (source-shards.ts), so that a
// cell reads only the shards of what it hosts, and after a change only those that changed.
//
// A publish, holding the lease (one publisher at a time; shard items are overwritten in place):
//   1. note the shards it will write in the lease (the next holder rewrites them if this one dies);
//   2. write the changed shards (an emptied source's shard is deleted) and the change entry of its
//      version (the keys it changed, or `all`), beside the snapshot's chunks;
//   3. move the pointer (snapshot-store.ts), which lists the last SHARD_LOG_LENGTH logged versions
//      and, when they are few, the keys this publish changed;
//   4. beside each other: the caller's step (the fan-out tells the cells), the pruning of old
//      chunks, the deletion of the change entries that fell off that list, and the lease given up.
// A publish that fails ends the lease but keeps its intent (ShardItems.abandonLease): the next
// holder rewrites what it named, at once.
// A cell that reads the pointer finds every shard at least as new as it, and the change entries of
// every version it lists. A first sharded publish, a new epoch, or an earlier holder that died with
// `all` rewrites every shard, deletes every other stored one, and logs `all`.
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ShardKey } from '../domain/shard-keys.js';
import { decodeSnapshot, type EncodedSnapshot, encodeSnapshot, type PolicySnapshot } from '../domain/snapshot.js';
import type { SnapshotPointer, SnapshotStore, SnapshotWriteOptions } from '../domain/snapshot-store.js';
import { changedShardKeys, splitSnapshot } from '../domain/source-shards.js';
import { type Sleep, sleep as timerSleep } from '../retry.js';
import { ShardItems, type StoredShard } from './shard-items.js';
import type { ShardChanges } from './shard-log.js';
import { DynamoDbSnapshotStore, type SnapshotStoreOptions } from './snapshot-store.js';

/** How many publishes' change entries are kept: a cell further behind reads all its shards. */
export const SHARD_LOG_LENGTH = 32;
/** Up to this many changed keys also travel in the pointer (it stays one read unit, under 4 KB). */
export const POINTER_CHANGES = 40;
/** Longer than the fan-out's timeout (1 minute), so a live holder never loses it. */
export const LEASE_MS = 90_000;
/** Within the fan-out's timeout; when it runs out the batch fails and is retried. */
const LEASE_WAIT_MS = 40_000;
const LEASE_POLL_MS = 100;

export interface ShardedSnapshotStoreOptions {
  readonly now?: () => number;
  readonly sleep?: Sleep;
  /** How long to wait for another publisher's lease. @default 40 s */
  readonly leaseWaitMs?: number;
}

/** What a cell reads besides the pointer. */
export interface ShardSource {
  readShards(keys: readonly ShardKey[]): Promise<Map<ShardKey, StoredShard>>;
  readChanges(versions: readonly number[]): Promise<Map<number, ShardChanges>>;
}

export class ShardedSnapshotStore implements SnapshotStore, ShardSource {
  /**
   * The shards of the last snapshot this store published, by its checksum: the next publish diffs
   * against them instead of reading and decoding that snapshot again (a warm Lambda container).
   */
  private lastPublished: { readonly sha256: string; readonly shards: Map<ShardKey, PolicySnapshot> } | undefined;
  /** The change entry of the last publish here: the fan-out asks for it right after (cells to tell). */
  private lastChanges: ShardChanges | undefined;

  constructor(
    private readonly snapshots: DynamoDbSnapshotStore,
    private readonly items: ShardItems,
    private readonly options: ShardedSnapshotStoreOptions = {},
  ) {}

  readPointer(): Promise<SnapshotPointer | undefined> {
    return this.snapshots.readPointer();
  }

  epoch(): Promise<string> {
    return this.snapshots.epoch();
  }

  readBytes(pointer: SnapshotPointer): Promise<Buffer> {
    return this.snapshots.readBytes(pointer);
  }

  readShards(keys: readonly ShardKey[]): Promise<Map<ShardKey, StoredShard>> {
    return this.items.readShards(keys);
  }

  async readChanges(versions: readonly number[]): Promise<Map<number, ShardChanges>> {
    // An entry is never rewritten under its version and epoch: the one this store wrote is the stored one.
    const own = this.lastChanges;
    if (own !== undefined && versions.length === 1 && versions[0] === own.version) {
      const epoch = await this.snapshots.epoch();
      if (own.epoch === epoch) return new Map([[own.version, own]]);
    }
    return this.items.readChanges(versions);
  }

  /** See ShardItems.expireLease: for the only publisher of a table, at its start. */
  expireAbandonedLease(): Promise<void> {
    return this.items.expireLease();
  }

  async write(encoded: EncodedSnapshot, options: SnapshotWriteOptions = {}): Promise<boolean> {
    const owner = randomUUID();
    const left = await this.acquire(owner);
    let released = false;
    // Once the pointer moved, everything the lease names is written: it is given up then, beside
    // the clean-up and the caller's own step, not after them.
    const release = async (): Promise<void> => {
      await this.items.releaseLease(owner);
      released = true;
    };
    let written: boolean;
    try {
      written = await this.publish(owner, encoded, left, release, options);
    } catch (error) {
      // Some of what the lease names may be written, the rest not: the next holder rewrites it all.
      // (Released already, the lease may be another holder's now: abandonLease leaves it alone.)
      await this.items.abandonLease(owner).catch(() => undefined);
      throw error;
    }
    if (!released) await release();
    return written;
  }

  private async publish(
    owner: string,
    encoded: EncodedSnapshot,
    left: readonly ShardKey[] | 'all',
    release: () => Promise<void>,
    options: SnapshotWriteOptions,
  ): Promise<boolean> {
    const epoch = await this.snapshots.epoch();
    const previous = await this.snapshots.readPointer();
    if (previous && previous.epoch === epoch && previous.version >= encoded.version) return false;
    // Decoded as cells and the previous snapshot are, so that shards compare field for field.
    const next = splitSnapshot(decodeSnapshot(encoded.bytes, encoded.sha256));
    const logged = previous !== undefined && previous.epoch === epoch && previous.shardLog !== undefined;
    const before =
      previous === undefined
        ? new Map<ShardKey, PolicySnapshot>()
        : previous.sha256 === this.lastPublished?.sha256
          ? this.lastPublished.shards
          : await this.shardsOf(previous, logged);
    // Without a log to continue (first sharded publish, new epoch) or after a holder that died
    // mid-`all`, every shard is rewritten and cells read all of theirs. What such a table holds
    // cannot be told from any snapshot (a restored table's shards, a dead holder's half of a state
    // never published), so every stored shard is listed: those the new state lacks are deleted.
    const everything = !logged || left === 'all';
    const changed = everything
      ? [
          ...new Set([
            ...next.keys(),
            ...before.keys(),
            ...(left === 'all' ? [] : left),
            ...(await this.items.listShardKeys()),
          ]),
        ]
      : [...new Set([...changedShardKeys(before, next), ...left])];
    await this.items.recordIntent(owner, changed);
    const entry: ShardChanges = { version: encoded.version, epoch, keys: everything ? 'all' : changed };
    // The shards and the change entry go beside the snapshot's chunks; the pointer follows them all.
    const alongside = Promise.all([
      this.items.writeShards(encoded.version, epoch, new Map(changed.map((key) => [key, shardBytes(next.get(key))]))),
      this.items.writeChanges(entry),
    ]);
    // Awaited by the snapshot store's write; this only keeps a failure it never gets to from going unhandled.
    alongside.catch(() => undefined);
    const log = [...(logged ? (previous.shardLog ?? []) : []), encoded.version].slice(-SHARD_LOG_LENGTH);
    const inline = !everything && changed.length <= POINTER_CHANGES ? { latestChanges: changed } : {};
    const dropped = logged ? (previous.shardLog ?? []).filter((version) => !log.includes(version)) : [];
    // Nobody else moves the pointer while the lease is held: the one read above is still current.
    const written = await this.snapshots.write(encoded, {
      shardLog: log,
      ...inline,
      previous,
      alongside,
      afterPointer: () => {
        // Before the caller's step, which may ask for this entry (the fan-out, for the cells to tell).
        this.lastChanges = entry;
        return Promise.all([this.items.deleteChanges(dropped), release(), options.afterPointer?.()]);
      },
    });
    if (written) this.lastPublished = { sha256: encoded.sha256, shards: next };
    return written;
  }

  /**
   * The previous snapshot's shards. Diffing against them needs them (`required`); when everything is
   * rewritten they only name shards to delete, and an unreadable one (a restored table's) gives none.
   */
  private async shardsOf(pointer: SnapshotPointer, required: boolean): Promise<Map<ShardKey, PolicySnapshot>> {
    try {
      return splitSnapshot(await this.snapshots.read(pointer));
    } catch (error) {
      if (required) throw error;
      return new Map();
    }
  }

  private async acquire(owner: string): Promise<readonly ShardKey[] | 'all'> {
    const now = this.options.now ?? Date.now;
    const sleep = this.options.sleep ?? timerSleep;
    const deadline = now() + (this.options.leaseWaitMs ?? LEASE_WAIT_MS);
    for (;;) {
      const left = await this.items.acquireLease(owner, now(), LEASE_MS);
      if (left !== undefined) return left;
      if (now() >= deadline) {
        throw new Error('another publisher has held the shard lease too long; this batch is retried');
      }
      await sleep(LEASE_POLL_MS);
    }
  }
}

/** The policy table's snapshots and shards, as the fan-out writes them and cells read them. */
export function shardedSnapshotStore(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: SnapshotStoreOptions & ShardedSnapshotStoreOptions = {},
): ShardedSnapshotStore {
  return new ShardedSnapshotStore(
    new DynamoDbSnapshotStore(client, tableName, options),
    new ShardItems(client, tableName, options.sleep),
    options,
  );
}

function shardBytes(shard: PolicySnapshot | undefined): Buffer | undefined {
  return shard === undefined ? undefined : encodeSnapshot(shard).bytes;
}
