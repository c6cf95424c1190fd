// Where published snapshots live: the fan-out writes them, cells read them. DynamoDB in production
// (core/store/snapshot-store.ts); an in-memory fake in the fan-out's unit tests.
import type { SecurityGroup } from './security-group.js';
import type { ShardKey } from './shard-keys.js';
import type { EncodedSnapshot } from './snapshot.js';
import type { Destination } from './types.js';
import type { PolicyRef, VersionChanges } from './version-changes.js';

/** The small record naming the current snapshot; cells read it on every sync. */
export interface SnapshotPointer {
  readonly version: number;
  readonly chunks: number;
  readonly bytes: number;
  /** '' (and `chunks` 0) when the pointer names no whole snapshot, only source shards. */
  readonly sha256: string;
  readonly writtenAt: string;
  /** Sort-key prefix of this snapshot's chunks; absent on pointers of the first layout. */
  readonly chunkPrefix?: string;
  /**
   * The identity of the table that published it (see SnapshotStore.epoch); absent on pointers
   * written before epochs. Versions count within one epoch only: a cell compares versions of the
   * same epoch and takes the state of a new one whatever its version.
   */
  readonly epoch?: string;
  /**
   * The versions of the latest publishes that logged which source shards they changed (oldest
   * first, this pointer's last); absent when the publisher wrote no shards (source-shards.ts).
   */
  readonly shardLog?: readonly number[];
  /**
   * The shard keys this pointer's own publish changed, when they are few (the change entry of its
   * version holds them too): a cell one publish behind needs no change entry read.
   */
  readonly latestChanges?: readonly string[];
  /**
   * The fan-out's per-shard policy lists are complete for this pointer, so the next publish may
   * update only the shards a change touched.
   */
  readonly policyIndex?: boolean;
}

export interface SnapshotStore {
  readPointer(): Promise<SnapshotPointer | undefined>;
  /**
   * The identity of the table this store publishes to, stamped on every pointer it writes. It changes
   * when the table is recreated or restored from a backup, the two ways its versions go back.
   */
  epoch(): Promise<string>;
  /** The snapshot's compressed bytes as stored; verify them with decodeSnapshot. */
  readBytes(pointer: SnapshotPointer): Promise<Buffer>;
  /**
   * Stores the snapshot and moves the pointer to it if it is newer than the current one or the
   * current one is of another epoch. Returns false when a snapshot of this version or a newer one,
   * of this epoch, was already current.
   */
  write(snapshot: EncodedSnapshot, options?: SnapshotWriteOptions): Promise<boolean>;
}

export interface SnapshotWriteOptions {
  /**
   * Run as soon as the pointer has moved to this snapshot (never when the write returns false),
   * beside the store's own clean-up; `write` resolves once both are done and rejects if either
   * fails. The fan-out tells the cells here, so that they do not wait for the clean-up.
   */
  readonly afterPointer?: () => Promise<unknown>;
  /**
   * Every policy of the snapshot, by the shard it lives in (shard-updates.ts): a store that keeps
   * them can then publish later changes from the touched shards' lists alone.
   */
  readonly policyLists?: ReadonlyMap<ShardKey, readonly PolicyRef[]>;
}

/** What a publish of described changes reads besides the shards' own lists, all consistently. */
export interface ChangeReads {
  destinations(ids: readonly string[]): Promise<Destination[]>;
  securityGroups(): Promise<SecurityGroup[]>;
}

export interface ChangePublishRequest {
  /** The descriptions of a stream batch's versions; undefined for a version written without one. */
  readonly changes: ReadonlyMap<number, VersionChanges | undefined>;
  readonly read: ChangeReads;
  /** As SnapshotWriteOptions.afterPointer, with the version published. */
  readonly afterPointer?: (version: number) => Promise<unknown>;
}

/** Published (or already current), or why only a full publish can do it. */
export type ChangePublishResult = { readonly version: number; readonly written: boolean } | { readonly full: string };

/** A store that can publish described changes by rewriting only the shards they touch. */
export interface ChangePublisher {
  publishChanges(request: ChangePublishRequest): Promise<ChangePublishResult>;
}
