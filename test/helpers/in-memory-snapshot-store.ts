// The SnapshotStore the fan-out depends on, in memory, for unit tests: the same forward-only pointer
// as DynamoDbSnapshotStore (a write of a version not newer than the current one of the same epoch is
// refused), each snapshot's bytes under its own prefix, a clock the test sets, and an epoch the test
// can change (as a restore from a backup would).
import type { EncodedSnapshot } from '../../core/domain/snapshot.js';
import type { SnapshotPointer, SnapshotStore, SnapshotWriteOptions } from '../../core/domain/snapshot-store.js';

export class InMemorySnapshotStore implements SnapshotStore {
  private pointer: SnapshotPointer | undefined;
  private readonly bytesByPrefix = new Map<string, Buffer>();
  /** Every snapshot handed to write, moved to or not. */
  readonly writes: EncodedSnapshot[] = [];

  /** The table's identity; a test sets another to play a restored table. */
  tableEpoch = 'in-memory-table';

  constructor(private readonly now: () => Date = () => new Date()) {}

  async epoch(): Promise<string> {
    return this.tableEpoch;
  }

  async readPointer(): Promise<SnapshotPointer | undefined> {
    return this.pointer;
  }

  async readBytes(pointer: SnapshotPointer): Promise<Buffer> {
    const bytes = this.bytesByPrefix.get(pointer.chunkPrefix ?? `v${pointer.version}#`);
    if (!bytes) throw new Error(`no snapshot stored for version ${pointer.version}`);
    return bytes;
  }

  async write(snapshot: EncodedSnapshot, options: SnapshotWriteOptions = {}): Promise<boolean> {
    this.writes.push(snapshot);
    if (this.pointer && this.pointer.epoch === this.tableEpoch && this.pointer.version >= snapshot.version)
      return false;
    const chunkPrefix = `v${snapshot.version}#${snapshot.sha256.slice(0, 16)}#`;
    this.bytesByPrefix.set(chunkPrefix, snapshot.bytes);
    this.pointer = {
      version: snapshot.version,
      chunks: 1,
      bytes: snapshot.bytes.length,
      sha256: snapshot.sha256,
      writtenAt: this.now().toISOString(),
      chunkPrefix,
      epoch: this.tableEpoch,
    };
    await options.afterPointer?.();
    return true;
  }
}
