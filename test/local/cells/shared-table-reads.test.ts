// Cells told about one change share their table reads, but never a read that may predate the change:
// a run joins only reads that started at or after its own start.
import { describe, expect, it } from 'vitest';
import type { SnapshotSource } from '../../../agent/source/dynamodb.js';
import type { ShardKey } from '../../../core/domain/shard-keys.js';
import type { SnapshotPointer } from '../../../core/domain/snapshot-store.js';
import type { StoredShard } from '../../../core/store/shard-items.js';
import type { ShardChanges } from '../../../core/store/shard-log.js';
import { SharedTableReads } from '../../../local/cells/shared-table-reads.js';

const pointer = (version: number): SnapshotPointer => ({
  version,
  chunks: 0,
  bytes: 0,
  sha256: '',
  writtenAt: '2026-12-05T00:00:00.000Z',
});

/** A table whose reads wait until released; counts what was read. */
function slowTable() {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  let version = 1;
  const later = <T>(value: () => T): Promise<T> =>
    new Promise((resolve) => {
      waiting.push(() => resolve(value()));
    });
  const source: SnapshotSource = {
    readPointer: () => {
      calls.push('pointer');
      // A read sees the table as it was when it went out.
      const seen = version;
      return later(() => pointer(seen));
    },
    readBytes: async (read) => {
      calls.push(`bytes ${read.sha256}`);
      return Buffer.from(read.sha256);
    },
    readShards: (keys: readonly ShardKey[]) => {
      calls.push(`shards ${keys.join(',')}`);
      return later(
        () =>
          new Map<ShardKey, StoredShard>(keys.map((key) => [key, { version, epoch: 'e', bytes: Buffer.from(key) }])),
      );
    },
    readChanges: (versions: readonly number[]) => {
      calls.push(`changes ${versions.join(',')}`);
      return later(
        () => new Map<number, ShardChanges>(versions.map((v) => [v, { version: v, epoch: 'e', keys: 'all' }])),
      );
    },
  };
  const release = async (): Promise<void> => {
    for (const go of waiting.splice(0)) go();
    await Promise.resolve();
  };
  return { source, calls, release, setVersion: (next: number) => (version = next) };
}

describe('SharedTableReads', () => {
  it('runs started together read the pointer, the change log and the same shards once', async () => {
    const table = slowTable();
    let now = 0;
    const shared = new SharedTableReads(table.source, () => now);
    const runs = [shared.forRun(now), shared.forRun(now), shared.forRun(now)];
    now = 1;
    const pointers = runs.map((run) => run.readPointer());
    const shards = runs.map((run, index) => run.readShards?.(index === 2 ? ['app#b', 'app#a'] : ['app#a', 'app#b']));
    const changes = runs.map((run) => run.readChanges?.([4, 5]));
    await table.release();
    expect((await Promise.all(pointers)).map((read) => read?.version)).toEqual([1, 1, 1]);
    const [first, second] = await Promise.all(shards);
    expect([...(first?.keys() ?? [])]).toEqual(['app#a', 'app#b']);
    // Each run gets a map of its own.
    expect(first).not.toBe(second);
    expect((await Promise.all(changes)).map((read) => read?.size)).toEqual([2, 2, 2]);
    expect(table.calls).toEqual(['pointer', 'shards app#a,app#b', 'changes 4,5']);
  });

  it('never joins a read that started before the run did', async () => {
    const table = slowTable();
    let now = 0;
    const shared = new SharedTableReads(table.source, () => now);
    const early = shared.forRun(0).readPointer();
    // The change lands and a cell is told after that read went out: its run starts later.
    table.setVersion(2);
    now = 5;
    const told = shared.forRun(5).readPointer();
    await table.release();
    await table.release();
    expect([(await early)?.version, (await told)?.version]).toEqual([1, 2]);
    expect(table.calls).toEqual(['pointer', 'pointer']);
  });

  it('reads anew when a run asks again for what it already had (a pointer re-read after a changed snapshot)', async () => {
    const table = slowTable();
    let now = 0;
    const shared = new SharedTableReads(table.source, () => now);
    const run = shared.forRun(0);
    const other = shared.forRun(0);
    const first = run.readPointer();
    await table.release();
    expect((await first)?.version).toBe(1);
    table.setVersion(2);
    now = 3;
    const again = run.readPointer();
    // Another run started at the same time may join that newer read.
    const joined = other.readPointer();
    await table.release();
    expect([(await again)?.version, (await joined)?.version]).toEqual([2, 2]);
    expect(table.calls).toEqual(['pointer', 'pointer']);
  });

  it('does not share a read that failed', async () => {
    let reads = 0;
    const failing: SnapshotSource = {
      readPointer: async () => {
        reads += 1;
        if (reads === 1) throw new Error('throttled');
        return pointer(3);
      },
      readBytes: async () => Buffer.alloc(0),
    };
    const shared = new SharedTableReads(failing, () => 0);
    await expect(shared.forRun(0).readPointer()).rejects.toThrow('throttled');
    expect((await shared.forRun(0).readPointer())?.version).toBe(3);
  });

  it('shares a whole snapshot by its checksum, whenever it was read', async () => {
    const table = slowTable();
    let now = 0;
    const shared = new SharedTableReads(table.source, () => now);
    await shared.forRun(0).readBytes({ ...pointer(1), sha256: 'aa' });
    now = 100;
    await shared.forRun(100).readBytes({ ...pointer(1), sha256: 'aa' });
    await shared.forRun(100).readBytes({ ...pointer(2), sha256: 'bb' });
    expect(table.calls).toEqual(['bytes aa', 'bytes bb']);
  });
});
