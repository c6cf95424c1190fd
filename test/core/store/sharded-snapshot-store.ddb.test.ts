// Publishing source shards on DynamoDB Local: only changed shards are written and logged, an
// emptied source's shard is deleted, the log keeps SHARD_LOG_LENGTH entries, one publisher holds the
// lease at a time, and what a publisher that died said it would write is rewritten by the next one.
import { gunzipSync } from 'node:zlib';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ShardItems } from '../../../core/store/shard-items.js';
import { SHARD_LOG_LENGTH, shardedSnapshotStore } from '../../../core/store/sharded-snapshot-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { createTestTable } from '../../helpers/ddb.js';
import { appPolicy, destination, published } from '../../helpers/shard-fixtures.js';

async function setUp(options: Parameters<typeof shardedSnapshotStore>[2] = {}) {
  const table = await createTestTable();
  const client = documentClient(table.client);
  const store = shardedSnapshotStore(client, table.tableName, options);
  const items = new ShardItems(client, table.tableName);
  return { client, tableName: table.tableName, store, items };
}

const shared = destination('shared', '198.51.100.1');
const own = (app: string) => destination(`own-${app}`, `203.0.113.${app.length}`);
const shardText = (bytes: Buffer) => gunzipSync(bytes).toString('utf8');

describe('ShardedSnapshotStore', () => {
  it('writes every shard and logs `all` first, then only the shards a change touched', async () => {
    const { store, items } = await setUp();
    const v1 = [appPolicy('a', shared), appPolicy('b', shared), appPolicy('c', own('c'))];
    expect(await store.write(published(1, v1))).toBe(true);
    expect((await store.readPointer())?.shardLog).toEqual([1]);
    expect((await items.readChanges([1])).get(1)?.keys).toBe('all');
    // `all` is not carried in the pointer: cells read the entry.
    expect((await store.readPointer())?.latestChanges).toBeUndefined();
    expect([...(await items.readShards(['app:a', 'app:b', 'app:c', 'global'])).keys()].sort()).toEqual([
      'app:a',
      'app:b',
      'app:c',
    ]);

    // c gets a second destination: only c's shard changes.
    const v2 = [...v1, appPolicy('c', destination('extra', '192.0.2.9'))];
    expect(await store.write(published(2, v2))).toBe(true);
    expect((await items.readChanges([2])).get(2)?.keys).toEqual(['app:c']);
    expect((await store.readPointer())?.latestChanges).toEqual(['app:c']);
    const shards = await items.readShards(['app:a', 'app:c']);
    expect(shards.get('app:a')?.version).toBe(1);
    expect(shards.get('app:c')?.version).toBe(2);
    expect(shardText(shards.get('app:c')?.bytes ?? Buffer.alloc(0))).toContain('192.0.2.9');

    // The shared destination moves: every app using it changes, c does not.
    const moved = destination('shared', '198.51.100.77');
    const v3 = [appPolicy('a', moved), appPolicy('b', moved), ...v2.slice(2)];
    await store.write(published(3, v3));
    expect((await items.readChanges([3])).get(3)?.keys).toEqual(['app:a', 'app:b']);

    // b loses its only policy: its shard is deleted and the deletion logged.
    await store.write(
      published(
        4,
        [v3[0], ...v3.slice(2)].flatMap((p) => (p ? [p] : [])),
      ),
    );
    expect((await items.readChanges([4])).get(4)?.keys).toEqual(['app:b']);
    expect((await items.readShards(['app:b'])).size).toBe(0);
    expect((await store.readPointer())?.shardLog).toEqual([1, 2, 3, 4]);
    expect(await items.readLease()).toBeUndefined();
  });

  it('keeps the last SHARD_LOG_LENGTH change entries and deletes older ones', async () => {
    const { store, items } = await setUp();
    const last = SHARD_LOG_LENGTH + 3;
    for (let version = 1; version <= last; version += 1) {
      await store.write(published(version, [appPolicy(`app-${version % 3}`, own(`x${version}`))]));
    }
    const log = (await store.readPointer())?.shardLog ?? [];
    expect(log).toHaveLength(SHARD_LOG_LENGTH);
    expect(log.at(-1)).toBe(last);
    const all = Array.from({ length: last }, (_, index) => index + 1);
    expect([...(await items.readChanges(all)).keys()].sort((a, b) => a - b)).toEqual(log);
  });

  it('does not publish an older or equal version, and leaves the shards alone', async () => {
    const { store, items } = await setUp();
    await store.write(published(5, [appPolicy('a', own('a'))]));
    expect(await store.write(published(5, [appPolicy('a', own('zz'))]))).toBe(false);
    expect(await store.write(published(4, [appPolicy('b', own('b'))]))).toBe(false);
    expect((await items.readShards(['app:a', 'app:b'])).get('app:a')?.version).toBe(5);
    expect((await items.readShards(['app:b'])).size).toBe(0);
    expect((await store.readPointer())?.shardLog).toEqual([5]);
  });

  it('rewrites and logs the shards a publisher that died said it would write', async () => {
    const { store, items, client, tableName } = await setUp();
    await store.write(published(1, [appPolicy('a', own('a')), appPolicy('b', own('b'))]));
    // A publisher took the lease, noted app:a, wrote garbage there and died; its lease expired.
    expect(await items.acquireLease('dead', Date.now() - 200_000, 1_000)).toEqual([]);
    await items.recordIntent('dead', ['app:a']);
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: 'SHARD#app:a', sk: 'SHARD', version: 2, epoch: 'x', data: Buffer.from('garbage') },
      }),
    );
    await store.write(published(2, [appPolicy('a', own('a')), appPolicy('b', own('b'))]));
    expect((await items.readChanges([2])).get(2)?.keys).toEqual(['app:a']);
    const repaired = (await items.readShards(['app:a'])).get('app:a');
    expect(repaired?.version).toBe(2);
    expect(shardText(repaired?.bytes ?? Buffer.alloc(0))).toContain('own-a');
    expect(await items.readLease()).toBeUndefined();
  });

  it('keeps the intent of a publish that failed half way, so the next publisher rewrites those shards at once', async () => {
    const table = await createTestTable();
    const client = documentClient(table.client);
    let failPointer = false;
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Item?: { sk?: unknown } };
        if (failPointer && input.Item?.sk === 'CURRENT') throw new Error('the pointer write failed');
        return next(args);
      },
      { step: 'initialize', name: 'failPointer' },
    );
    const store = shardedSnapshotStore(client, table.tableName, { leaseWaitMs: 1_000 });
    const items = new ShardItems(client, table.tableName);
    const v1 = [appPolicy('a', own('a')), appPolicy('b', own('b'))];
    await store.write(published(1, v1));
    // a gains a destination; its shard is written, then the pointer write fails.
    failPointer = true;
    await expect(
      store.write(published(2, [...v1, appPolicy('a', destination('extra', '192.0.2.99'))])),
    ).rejects.toThrow(/pointer write failed/);
    failPointer = false;
    expect(shardText((await items.readShards(['app:a'])).get('app:a')?.bytes ?? Buffer.alloc(0))).toContain(
      '192.0.2.99',
    );
    // The lease is over (no 90 s wait) but still names app:a.
    expect(await items.readLease()).toMatchObject({ intent: ['app:a'] });
    // The change is undone before the next publish: a's shard must go back although v1 → v3 changes nothing.
    expect(await store.write(published(3, v1))).toBe(true);
    expect((await items.readChanges([3])).get(3)?.keys).toEqual(['app:a']);
    expect(shardText((await items.readShards(['app:a'])).get('app:a')?.bytes ?? Buffer.alloc(0))).not.toContain(
      '192.0.2.99',
    );
    expect(await items.readLease()).toBeUndefined();
  });

  it("runs the caller's step once the pointer moved, and answers for that change entry without reading it", async () => {
    const table = await createTestTable();
    const client = documentClient(table.client);
    const reads: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        reads.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    const store = shardedSnapshotStore(client, table.tableName);
    await store.write(published(1, [appPolicy('a', own('a'))]));
    let seen: number | undefined;
    const written = await store.write(published(2, [appPolicy('a', own('a')), appPolicy('b', own('b'))]), {
      afterPointer: async () => {
        seen = (await store.readPointer())?.version;
        reads.length = 0;
        expect((await store.readChanges([2])).get(2)?.keys).toEqual(['app:b']);
        expect(reads.filter((name) => name.startsWith('BatchGet'))).toEqual([]);
      },
    });
    expect([written, seen]).toEqual([true, 2]);
    // Another version is read from the table.
    expect((await store.readChanges([1])).get(1)?.keys).toBe('all');
    expect(reads.filter((name) => name.startsWith('BatchGet'))).toHaveLength(1);
    // Not run when nothing is published.
    let ran = false;
    await store.write(published(2, [appPolicy('a', own('a'))]), {
      afterPointer: async () => {
        ran = true;
      },
    });
    expect(ran).toBe(false);
  });

  it('deletes what a publisher that died writing every shard left, although no snapshot names it', async () => {
    const { store, items, client, tableName } = await setUp();
    await store.write(published(1, [appPolicy('a', own('a'))]));
    expect(await items.acquireLease('dead', Date.now() - 200_000, 1_000)).toEqual([]);
    await items.recordIntent('dead', 'all');
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: 'SHARD#app:ghost', sk: 'SHARD', version: 2, epoch: await store.epoch(), data: Buffer.from('x') },
      }),
    );
    await store.write(published(2, [appPolicy('a', own('a'))]));
    expect((await items.readChanges([2])).get(2)?.keys).toBe('all');
    expect((await items.readShards(['app:ghost'])).size).toBe(0);
    expect((await items.readShards(['app:a'])).get('app:a')?.version).toBe(2);
  });

  it('waits for a live holder of the lease, and fails the batch when it holds it too long', async () => {
    let now = 1_000_000;
    const { store, items } = await setUp({
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      leaseWaitMs: 5_000,
    });
    expect(await items.acquireLease('other', now, 60_000)).toEqual([]);
    await expect(store.write(published(1, [appPolicy('a', own('a'))]))).rejects.toThrow(/lease/);
    expect(await store.readPointer()).toBeUndefined();
    // Released: the next publish goes through.
    await items.releaseLease('other');
    expect(await store.write(published(1, [appPolicy('a', own('a'))]))).toBe(true);
  });

  it("the only publisher ends a crashed run's lease at once, and still rewrites what it said it would write", async () => {
    const { store, items, client, tableName } = await setUp({ leaseWaitMs: 1_000 });
    await store.write(published(1, [appPolicy('a', own('a')), appPolicy('b', own('b'))]));
    // A run took the lease for 90 s, noted app:a, wrote garbage there and was killed.
    expect(await items.acquireLease('killed', Date.now(), 90_000)).toEqual([]);
    await items.recordIntent('killed', ['app:a']);
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: 'SHARD#app:a', sk: 'SHARD', version: 2, epoch: 'x', data: Buffer.from('garbage') },
      }),
    );
    await expect(store.write(published(2, [appPolicy('a', own('a'))]))).rejects.toThrow(/lease/);
    await store.expireAbandonedLease();
    expect(await store.write(published(2, [appPolicy('a', own('a')), appPolicy('b', own('b'))]))).toBe(true);
    expect((await items.readChanges([2])).get(2)?.keys).toEqual(['app:a']);
    expect(shardText((await items.readShards(['app:a'])).get('app:a')?.bytes ?? Buffer.alloc(0))).toContain('own-a');
    expect(await items.readLease()).toBeUndefined();
    // No lease at all: nothing to end, no error.
    await store.expireAbandonedLease();
  });

  it('rewrites every shard under a new epoch and deletes those the new state lacks', async () => {
    const { store, items, client, tableName } = await setUp();
    await store.write(published(7, [appPolicy('a', own('a')), appPolicy('gone', own('gone'))]));
    // As if restored from a backup of another table: the pointer names another epoch.
    const plain = new DynamoDbSnapshotStore(client, tableName);
    const pointer = await plain.readPointer();
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: 'SNAPSHOT',
          sk: 'CURRENT',
          version: pointer?.version,
          chunks: pointer?.chunks,
          bytes: pointer?.bytes,
          sha256: pointer?.sha256,
          chunk_prefix: pointer?.chunkPrefix,
          written_at: pointer?.writtenAt,
          epoch: 'another-table',
          shard_log: [7],
        },
      }),
    );
    await store.write(published(2, [appPolicy('a', own('a'))]));
    expect((await store.readPointer())?.shardLog).toEqual([2]);
    expect((await items.readChanges([2])).get(2)?.keys).toBe('all');
    expect((await items.readShards(['app:gone'])).size).toBe(0);
    expect((await items.readShards(['app:a'])).get('app:a')?.version).toBe(2);
  });

  it('diffs against the shards it published last without reading that snapshot again', async () => {
    const { store, items, client, tableName } = await setUp();
    const plain = new DynamoDbSnapshotStore(client, tableName);
    /** Overwrites the current snapshot's first chunk: reading it back now fails its checksum. */
    const damageCurrent = async () => {
      const pointer = await plain.readPointer();
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: 'SNAPSHOT', sk: `${pointer?.chunkPrefix}00000`, data: Buffer.from('x') },
        }),
      );
    };
    await store.write(published(1, [appPolicy('a', own('a')), appPolicy('b', own('bb'))]));
    await damageCurrent();
    await store.write(published(2, [appPolicy('a', own('a')), appPolicy('b', own('b2'))]));
    expect((await items.readChanges([2])).get(2)?.keys).toEqual(['app:b']);
    // Another store (another container) has no such memory: it must read version 2, and cannot.
    await damageCurrent();
    const other = shardedSnapshotStore(client, tableName);
    await expect(other.write(published(3, [appPolicy('a', own('a'))]))).rejects.toThrow(/checksum/);
    expect(await store.write(published(3, [appPolicy('a', own('a'))]))).toBe(true);
    expect((await items.readChanges([3])).get(3)?.keys).toEqual(['app:b']);
  });
});
