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
// Beside the shards, each publish keeps the policies behind each shard (shard-policies.ts), so that
// a stream batch's described changes (version-changes.ts) are published from the touched shards'
// lists alone (publishChanges, described-publish.ts): in one transaction with the pointer when they
// fit, which needs no lease (it checks that nobody holds one), else under the lease as above, and
// with a pointer that names no whole snapshot. `write` publishes the whole state.
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ShardKey } from '../domain/shard-keys.js';
import { samePolicies } from '../domain/shard-updates.js';
import {
  decodeSnapshot,
  type EncodedSnapshot,
  encodeSnapshot,
  type PolicySnapshot,
  sha256,
} from '../domain/snapshot.js';
import type {
  ChangePublisher,
  ChangePublishRequest,
  ChangePublishResult,
  SnapshotPointer,
  SnapshotStore,
  SnapshotWriteOptions,
} from '../domain/snapshot-store.js';
import { changedShardKeys, splitSnapshot } from '../domain/source-shards.js';
import type { PolicyRef } from '../domain/version-changes.js';
import { type Sleep, sleep as timerSleep } from '../retry.js';
import { type DescribedPlan, planDescribedPublish } from './described-publish.js';
import { isCancelledTransaction } from './dynamodb-io.js';
import { type Intent, ShardItems, type StoredShard } from './shard-items.js';
import type { ShardChanges } from './shard-log.js';
import { DynamoDbSnapshotStore, type SnapshotStoreOptions } from './snapshot-store.js';

/** How many publishes' change entries are kept: a cell further behind reads all its shards. */
export const SHARD_LOG_LENGTH = 32;
/** Up to this many changed keys also travel in the pointer (it stays one read unit, under 4 KB). */
export const POINTER_CHANGES = 40;
/** TransactWriteItems' limits: 100 items, 4 MB (shards are most of it; room left for the rest). */
const TRANSACTION_ITEMS = 100;
const TRANSACTION_SHARD_BYTES = 3 * 1024 * 1024;
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

export class ShardedSnapshotStore implements SnapshotStore, ShardSource, ChangePublisher {
  /**
   * The shards (and policy lists) of the last state this store published, by its pointer's
   * identity: the next publish diffs against them instead of reading that state again (a warm
   * Lambda container).
   */
  private lastPublished: LastPublished | undefined;
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

  write(encoded: EncodedSnapshot, options: SnapshotWriteOptions = {}): Promise<boolean> {
    return this.leased((lease) => this.publish(lease, encoded, options));
  }

  /**
   * Publishes a batch's described changes (version-changes.ts) by rewriting only the shards they
   * touch, from those shards' policy lists, the destinations they name and the security groups;
   * the pointer then names no whole snapshot. Only when the descriptions continue the pointer's
   * version without a gap, the policy lists are complete (`policyIndex`) and no earlier holder left
   * an intent; otherwise it says why and the caller publishes the whole state (`write`).
   */
  async publishChanges(request: ChangePublishRequest): Promise<ChangePublishResult> {
    const epoch = await this.snapshots.epoch();
    const plan = await planDescribedPublish(this.items, epoch, await this.snapshots.readPointer(), request);
    if ('current' in plan) return { version: plan.current, written: false };
    // A plan that cannot be published now is not retried under the lease: that would read the same.
    if ('full' in plan) return plan;
    return (await this.publishAtOnce(plan, request)) ?? this.leased((lease) => this.publishDescribed(lease, request));
  }

  /** Runs `work` holding the lease; ends it with its intent kept if `work` fails or gives it back. */
  private async leased<T>(work: (lease: Lease) => Promise<T>): Promise<T> {
    const owner = randomUUID();
    const left = await this.acquire(owner);
    let ended = false;
    // Once the pointer moved, everything the lease names is written: it is given up then, beside
    // the clean-up and the caller's own step, not after them.
    const release = async (): Promise<void> => {
      await this.items.releaseLease(owner);
      ended = true;
    };
    // Some of what the lease names may be written, the rest not (or an earlier holder's intent is
    // still to be done): the next holder rewrites it all. (Released already, the lease may be
    // another holder's now: abandonLease leaves it alone.)
    const giveBack = async (): Promise<void> => {
      await this.items.abandonLease(owner).catch(() => undefined);
      ended = true;
    };
    let result: T;
    try {
      result = await work({ owner, left, release, giveBack });
    } catch (error) {
      await giveBack();
      throw error;
    }
    if (!ended) await release();
    return result;
  }

  private async publish(lease: Lease, encoded: EncodedSnapshot, options: SnapshotWriteOptions): Promise<boolean> {
    const { owner, left, release } = lease;
    const epoch = await this.snapshots.epoch();
    const previous = await this.snapshots.readPointer();
    if (previous && previous.epoch === epoch && previous.version >= encoded.version) return false;
    // Decoded as cells and the previous snapshot are, so that shards compare field for field.
    const next = splitSnapshot(decodeSnapshot(encoded.bytes, encoded.sha256));
    const logged = previous !== undefined && previous.epoch === epoch && previous.shardLog !== undefined;
    const cached =
      previous !== undefined && this.lastPublished?.identity === identityOf(previous) ? this.lastPublished : undefined;
    // A keys-only scan of the table, at most once per publish and only on the paths that need it.
    let scanned: Promise<ShardKey[]> | undefined;
    const storedKeys = (): Promise<ShardKey[]> => {
      scanned ??= this.items.listShardKeys();
      return scanned;
    };
    const before =
      previous === undefined
        ? new Map<ShardKey, PolicySnapshot>()
        : (cached?.shards ??
          (previous.chunks > 0 ? await this.shardsOf(previous, logged) : await this.storedShards(await storedKeys())));
    // Without a log to continue (first sharded publish, new epoch) or after a holder that died
    // mid-`all`, every shard is rewritten and cells read all of theirs. What such a table holds
    // cannot be told from any snapshot (a restored table's shards, a dead holder's half of a state
    // never published), so every stored shard is listed: those the new state lacks are deleted.
    const everything = !logged || left === 'all';
    const changed = everything
      ? [...new Set([...next.keys(), ...before.keys(), ...(left === 'all' ? [] : left), ...(await storedKeys())])]
      : [...new Set([...changedShardKeys(before, next), ...left])];
    const lists = options.policyLists;
    const listKeys =
      lists === undefined
        ? []
        : await this.policyListsToWrite(lists, changed, everything, { previous, cached, left, storedKeys });
    await this.items.recordIntent(owner, [...new Set([...changed, ...listKeys])]);
    const entry: ShardChanges = { version: encoded.version, epoch, keys: everything ? 'all' : changed };
    // The shards, their policy lists and the change entry go beside the snapshot's chunks; the
    // pointer follows them all.
    const alongside = Promise.all([
      this.items.writeShards(encoded.version, epoch, new Map(changed.map((key) => [key, shardBytes(next.get(key))]))),
      this.items.writePolicies(encoded.version, epoch, new Map(listKeys.map((key) => [key, lists?.get(key) ?? []]))),
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
      ...(lists === undefined ? {} : { policyIndex: true }),
      previous,
      alongside,
      afterPointer: () => {
        // Before the caller's step, which may ask for this entry (the fan-out, for the cells to tell).
        this.lastChanges = entry;
        return Promise.all([this.items.deleteChanges(dropped), release(), options.afterPointer?.()]);
      },
    });
    if (written) {
      this.lastPublished = {
        identity: identityOf({ epoch, version: encoded.version, sha256: encoded.sha256 }),
        shards: next,
        ...(lists === undefined ? {} : { policies: new Map(lists) }),
      };
    }
    return written;
  }

  /**
   * The shards whose policy list a full publish writes: those that differ from the lists this
   * container published last, when the pointer is that publish and its lists are complete; else
   * every key the new state has or the table stores (the lists are rebuilt, as on the first publish
   * that keeps them: a list whose policies left no shard behind is found by the scan only).
   */
  private async policyListsToWrite(
    lists: ReadonlyMap<ShardKey, readonly PolicyRef[]>,
    changed: readonly ShardKey[],
    everything: boolean,
    state: {
      readonly previous: SnapshotPointer | undefined;
      readonly cached: LastPublished | undefined;
      readonly left: Intent;
      readonly storedKeys: () => Promise<ShardKey[]>;
    },
  ): Promise<ShardKey[]> {
    if (everything) return [...changed];
    const { previous, cached, left, storedKeys } = state;
    const leftKeys = left === 'all' ? [] : left;
    const known = previous?.policyIndex === true ? cached?.policies : undefined;
    if (known === undefined) return [...new Set([...lists.keys(), ...(await storedKeys()), ...leftKeys])];
    const differing = [...new Set([...known.keys(), ...lists.keys()])].filter(
      (key) => !samePolicies(known.get(key), lists.get(key)),
    );
    return [...new Set([...differing, ...leftKeys])];
  }

  /** Under the lease: for a plan too large for one transaction, or when that one was cancelled. */
  private async publishDescribed(lease: Lease, request: ChangePublishRequest): Promise<ChangePublishResult> {
    const { owner, left, release, giveBack } = lease;
    const bail = async (full: string): Promise<ChangePublishResult> => {
      await giveBack();
      return { full };
    };
    const epoch = await this.snapshots.epoch();
    const plan = await planDescribedPublish(this.items, epoch, await this.snapshots.readPointer(), request);
    if ('full' in plan) return bail(plan.full);
    if ('current' in plan) return { version: plan.current, written: false };
    if (left === 'all' || left.length > 0) return bail('an earlier publish did not finish');
    const { version, previous } = plan;
    const writes = describedWrites(plan);
    await this.items.recordIntent(owner, [...new Set([...writes.shards.keys(), ...writes.lists.keys()])]);
    const { entry, dropped } = writes;
    const alongside = Promise.all([
      this.items.writeShards(version, epoch, writes.shards),
      this.items.writePolicies(version, epoch, writes.lists),
      this.items.writeChanges(entry),
    ]);
    alongside.catch(() => undefined);
    const written = await this.snapshots.movePointer(version, {
      ...writes.pointer,
      previous,
      alongside,
      afterPointer: () => {
        this.lastChanges = entry;
        return Promise.all([this.items.deleteChanges(dropped), release(), request.afterPointer?.(version)]);
      },
    });
    this.rememberDescribed(plan, written);
    return { version, written };
  }

  /**
   * Shards, lists, change entry and pointer in one transaction, conditional on the pointer being the
   * plan's and on no publisher holding the lease or having left an intent: nothing can be half
   * written, so no lease or intent is needed. Undefined when it does not fit one transaction or was
   * cancelled (the lease path then decides, on fresh reads).
   */
  private async publishAtOnce(
    plan: DescribedPlan,
    request: ChangePublishRequest,
  ): Promise<ChangePublishResult | undefined> {
    const { version, epoch, previous } = plan;
    const { shards, lists, entry, pointer, dropped } = describedWrites(plan);
    if (shards.size + lists.size + 3 > TRANSACTION_ITEMS) return undefined;
    const shardBytesTotal = [...shards.values()].reduce((sum, bytes) => sum + (bytes?.length ?? 0), 0);
    if (shardBytesTotal > TRANSACTION_SHARD_BYTES) return undefined;
    const items = [
      ...this.items.transactItems({ version, epoch, shards, lists, changes: entry }, (this.options.now ?? Date.now)()),
      this.snapshots.movePointerItem(version, epoch, previous, pointer),
    ];
    try {
      await this.items.transact(items);
    } catch (error) {
      if (isCancelledTransaction(error)) return undefined;
      throw error;
    }
    this.lastChanges = entry;
    this.rememberDescribed(plan, true);
    await Promise.all([this.items.deleteChanges(dropped), request.afterPointer?.(version)]);
    return { version, written: true };
  }

  /** Keeps the warm container's copy of the published state in step with a described publish. */
  private rememberDescribed(plan: DescribedPlan, written: boolean): void {
    const cached = this.lastPublished;
    this.lastPublished =
      written && cached?.identity === identityOf(plan.previous)
        ? {
            identity: identityOf({ epoch: plan.epoch, version: plan.version, sha256: '' }),
            shards: withEntries(cached.shards, plan.next),
            ...(cached.policies === undefined ? {} : { policies: withEntries(cached.policies, plan.lists) }),
          }
        : undefined;
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

  /**
   * Every stored shard, decoded: the state of a pointer that names no whole snapshot, for a full
   * publish in a container that did not publish it (a table-wide read, as the full publish is).
   */
  private async storedShards(keys: readonly ShardKey[]): Promise<Map<ShardKey, PolicySnapshot>> {
    const stored = await this.items.readShards(keys);
    return new Map([...stored].map(([key, shard]) => [key, decodeSnapshot(shard.bytes, sha256(shard.bytes))]));
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

interface Lease {
  readonly owner: string;
  /** What an earlier holder that did not finish said it would write. */
  readonly left: Intent;
  /** Gives the lease up with its intent: everything it names is written. */
  readonly release: () => Promise<void>;
  /** Ends the lease keeping its intent (and an earlier holder's), for the next holder to redo. */
  readonly giveBack: () => Promise<void>;
}

interface LastPublished {
  readonly identity: string;
  readonly shards: ReadonlyMap<ShardKey, PolicySnapshot>;
  readonly policies?: ReadonlyMap<ShardKey, readonly PolicyRef[]>;
}

/** A pointer's state: two pointers with this equal name the same one. */
function identityOf(pointer: Pick<SnapshotPointer, 'epoch' | 'version' | 'sha256'>): string {
  return `${pointer.epoch ?? ''}|${pointer.version}|${pointer.sha256}`;
}

/** `base` with `updates` laid over it; a key updated to undefined is removed. */
function withEntries<V>(
  base: ReadonlyMap<ShardKey, V>,
  updates: ReadonlyMap<ShardKey, V | undefined>,
): Map<ShardKey, V> {
  const result = new Map(base);
  for (const [key, value] of updates) {
    if (value === undefined) result.delete(key);
    else result.set(key, value);
  }
  return result;
}

/** What a described plan writes, under the lease or in one transaction alike. */
function describedWrites(plan: DescribedPlan) {
  const { version, epoch, previous, next, lists, changed, listKeys } = plan;
  const { log, dropped } = logAfter(previous.shardLog, version);
  const entry: ShardChanges = { version, epoch, keys: changed };
  return {
    shards: new Map(changed.map((key) => [key, shardBytes(next.get(key))])),
    lists: new Map(listKeys.map((key) => [key, lists.get(key) ?? []])),
    entry,
    pointer: {
      shardLog: log,
      ...(changed.length <= POINTER_CHANGES ? { latestChanges: changed } : {}),
      policyIndex: true,
    },
    /** Change entries that fell off the pointer's log: deleted once it moved. */
    dropped,
  };
}

/** The pointer's log after a publish of `version`, and the versions that fell off it. */
function logAfter(shardLog: readonly number[], version: number): { log: number[]; dropped: number[] } {
  const log = [...shardLog, version].slice(-SHARD_LOG_LENGTH);
  return { log, dropped: shardLog.filter((logged) => !log.includes(logged)) };
}

function shardBytes(shard: PolicySnapshot | undefined): Buffer | undefined {
  return shard === undefined ? undefined : encodeSnapshot(shard).bytes;
}
