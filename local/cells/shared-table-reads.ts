// Local mode's cells all read the same table, and a change tells them all at once: ten cells would
// send ten identical pointer reads, ten change-log reads and, when they host the same sources, ten
// identical shard reads, each one work for DynamoDB Local on the same two cores. A run joins a read
// of the same thing that started at or after its own start instead: that read sees the table at
// least as new as the request that started the run, so nothing a cell was told about is missed.
// (A read that started before the run may predate the change the run is for: never joined.)

import type { SnapshotSource } from '../../agent/source/dynamodb.js';
import type { ShardKey } from '../../core/domain/shard-keys.js';
import type { SnapshotPointer } from '../../core/domain/snapshot-store.js';
import type { StoredShard } from '../../core/store/shard-items.js';
import type { ShardChanges } from '../../core/store/shard-log.js';

/** Reads older than this are forgotten (a run that would have joined one reads anew). */
const FORGET_AFTER_MS = 10_000;

interface Read<T> {
  readonly startedAt: number;
  readonly result: Promise<T>;
}

/** Reads of one kind, by what they read; each remembered with when it started. */
class JoinableReads<T> {
  private readonly reads = new Map<string, Read<T>>();

  constructor(private readonly now: () => number) {}

  /** The last read of `key` if `fits` its start, or a new one. */
  join(key: string, fits: (startedAt: number) => boolean, read: () => Promise<T>): Read<T> {
    const known = this.reads.get(key);
    if (known !== undefined && fits(known.startedAt)) return known;
    const now = this.now();
    for (const [old, entry] of this.reads) if (entry.startedAt < now - FORGET_AFTER_MS) this.reads.delete(old);
    const entry = { startedAt: now, result: read() };
    this.reads.set(key, entry);
    entry.result.catch(() => {
      // A failed read is not shared with later runs: each retries for itself.
      if (this.reads.get(key) === entry) this.reads.delete(key);
    });
    return entry;
  }
}

/**
 * One run's view: a read joins another that started at or after the run did, and a run that reads
 * the same thing again (the agent re-reads the pointer when a snapshot changed under it) gets a read
 * newer than the one it had.
 */
class RunReads {
  /** When the read this run last had of each key started. */
  private readonly had = new Map<string, number>();

  constructor(private readonly startedAt: number) {}

  join<T>(reads: JoinableReads<T>, key: string, read: () => Promise<T>): Promise<T> {
    const had = this.had.get(key);
    const entry = reads.join(
      key,
      (startedAt) => startedAt >= this.startedAt && (had === undefined || startedAt > had),
      read,
    );
    this.had.set(key, entry.startedAt);
    return entry.result;
  }
}

export class SharedTableReads {
  private readonly pointers: JoinableReads<SnapshotPointer | undefined>;
  private readonly shards: JoinableReads<Map<ShardKey, StoredShard>>;
  private readonly changes: JoinableReads<Map<number, ShardChanges>>;
  /** The last whole snapshot read, by checksum: its bytes never change, so any run may share them. */
  private lastBytes: { sha256: string; bytes: Promise<Buffer> } | undefined;

  constructor(
    private readonly source: SnapshotSource,
    now: () => number = () => performance.now(),
  ) {
    this.pointers = new JoinableReads(now);
    this.shards = new JoinableReads(now);
    this.changes = new JoinableReads(now);
  }

  /** The table as one run sees it: reads shared with other runs' reads that started since `startedAt`. */
  forRun(startedAt: number): SnapshotSource {
    const { readShards, readChanges } = this.source;
    const run = new RunReads(startedAt);
    return {
      readPointer: () => run.join(this.pointers, 'pointer', () => this.source.readPointer()),
      readBytes: (pointer) => this.bytes(pointer),
      // Each run gets its own copy of a shared map.
      ...(readShards === undefined
        ? {}
        : {
            readShards: async (keys: readonly ShardKey[]) =>
              new Map(
                await run.join(this.shards, [...keys].sort().join(' '), () => readShards.call(this.source, keys)),
              ),
          }),
      ...(readChanges === undefined
        ? {}
        : {
            readChanges: async (versions: readonly number[]) =>
              new Map(await run.join(this.changes, versions.join(' '), () => readChanges.call(this.source, versions))),
          }),
    };
  }

  private bytes(pointer: SnapshotPointer): Promise<Buffer> {
    if (this.lastBytes?.sha256 !== pointer.sha256) {
      const bytes = this.source.readBytes(pointer);
      const entry = { sha256: pointer.sha256, bytes };
      this.lastBytes = entry;
      bytes.catch(() => {
        if (this.lastBytes === entry) this.lastBytes = undefined;
      });
    }
    return this.lastBytes.bytes;
  }
}
