// Where published snapshots live: the fan-out writes them, cells read them. DynamoDB in production
// (core/store/snapshot-store.ts); an in-memory fake in the fan-out's unit tests.
import type { EncodedSnapshot } from './snapshot.js';

/** The small record naming the current snapshot; cells read it on every sync. */
export interface SnapshotPointer {
  readonly version: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly writtenAt: string;
  /** Sort-key prefix of this snapshot's chunks; absent on pointers of the first layout. */
  readonly chunkPrefix?: string;
}

export interface SnapshotStore {
  readPointer(): Promise<SnapshotPointer | undefined>;
  /** The snapshot's compressed bytes as stored; verify them with decodeSnapshot. */
  readBytes(pointer: SnapshotPointer): Promise<Buffer>;
  /**
   * Stores the snapshot and moves the pointer to it if it is newer than the current one. Returns
   * false when a snapshot of this version or a newer one was already current.
   */
  write(snapshot: EncodedSnapshot): Promise<boolean>;
}
