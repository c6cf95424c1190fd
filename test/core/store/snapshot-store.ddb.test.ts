// Snapshot storage on DynamoDB Local: pruning removes every old chunk, however many pages they fill,
// and a restored table publishes under its own epoch.
import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type EncodedSnapshot, sha256 } from '../../../core/domain/snapshot.js';
import { DynamoDbSnapshotStore, SNAPSHOT_PK } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { createTestTable } from '../../helpers/ddb.js';

/** Snapshot bytes need not be a real snapshot for storage: random bytes do not compress. */
const snapshotOf = (version: number, bytes: number): EncodedSnapshot => {
  const data = randomBytes(bytes);
  return { version, bytes: data, sha256: sha256(data) };
};

async function setUp(pageSize?: number) {
  const table = await createTestTable();
  const client = documentClient(table.client);
  const store = new DynamoDbSnapshotStore(client, table.tableName, pageSize === undefined ? {} : { pageSize });
  return { client, tableName: table.tableName, store };
}

/** The versions of every chunk still in the table, one entry per chunk, following every page. */
async function chunkVersions(client: DynamoDBDocumentClient, tableName: string): Promise<number[]> {
  const versions: number[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': SNAPSHOT_PK, ':v': 'v' },
        ProjectionExpression: 'sk',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) versions.push(Number(String(item.sk).slice(1, 13)));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return versions;
}

const count = (versions: number[]): Record<number, number> =>
  versions.reduce<Record<number, number>>((counts, version) => {
    counts[version] = (counts[version] ?? 0) + 1;
    return counts;
  }, {});

describe('DynamoDbSnapshotStore pruning', () => {
  it('deletes old chunks that fill more than one 1 MB query page', async () => {
    const { client, tableName, store } = await setUp();
    // 1.5 MB each: five 300 KB chunks, more than one query page per old version.
    const snapshots = [1, 2, 3, 4].map((version) => snapshotOf(version, 1_500_000));
    for (const snapshot of snapshots) expect(await store.write(snapshot)).toBe(true);

    // Only the current snapshot and the previous one (a reader may be in the middle of it) remain.
    expect(count(await chunkVersions(client, tableName))).toEqual({ 3: 5, 4: 5 });
    const pointer = await store.readPointer();
    expect(pointer?.version).toBe(4);
    expect(
      (await store.readBytes(pointer ?? (undefined as never))).equals(snapshots[3]?.bytes ?? Buffer.alloc(0)),
    ).toBe(true);
  });

  it.each([
    ['one page', undefined],
    ['pages of 7', 7],
  ])('deletes every chunk leaked by earlier writers, in batches of 25 (%s)', async (_case, pageSize) => {
    const { client, tableName, store } = await setUp(pageSize);
    // 60 chunks of versions nobody points at any more (left behind by a crashed or losing writer).
    for (let version = 1; version <= 60; version += 1) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: SNAPSHOT_PK, sk: `v${String(version).padStart(12, '0')}#00000`, data: Buffer.from('old') },
        }),
      );
    }
    expect(await store.write(snapshotOf(99, 1_000))).toBe(true);
    expect(await store.write(snapshotOf(100, 1_000))).toBe(true);
    expect(count(await chunkVersions(client, tableName))).toEqual({ 99: 1, 100: 1 });
    // The pointer is not a chunk and is never pruned.
    expect((await store.readPointer())?.version).toBe(100);
  });
});

describe('DynamoDbSnapshotStore with two publishers of one version', () => {
  it('keeps the chunks of the pointer that won: the loser writes its own, never over them', async () => {
    const { client, tableName, store } = await setUp();
    const winner = snapshotOf(5, 700_000);
    const loser = snapshotOf(5, 700_000);
    expect(await store.write(winner)).toBe(true);
    // A publisher that read the pointer before the winner moved it: it writes its chunks, then
    // loses the conditional pointer write.
    class LateReader extends DynamoDbSnapshotStore {
      override async readPointer() {
        return undefined;
      }
    }
    expect(await new LateReader(client, tableName).write(loser)).toBe(false);
    const pointer = await store.readPointer();
    expect(pointer?.sha256).toBe(winner.sha256);
    expect((await store.readBytes(pointer ?? (undefined as never))).equals(winner.bytes)).toBe(true);
    // The loser's chunks go with the next publish but one, like any older version's.
    await store.write(snapshotOf(6, 1_000));
    await store.write(snapshotOf(7, 1_000));
    expect(count(await chunkVersions(client, tableName))).toEqual({ 6: 1, 7: 1 });
  });

  it('reads a pointer written before chunk keys carried the checksum', async () => {
    const { client, tableName, store } = await setUp();
    const old = snapshotOf(3, 1_000);
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: SNAPSHOT_PK, sk: `v${String(3).padStart(12, '0')}#00000`, data: old.bytes },
      }),
    );
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          pk: SNAPSHOT_PK,
          sk: 'CURRENT',
          version: 3,
          chunks: 1,
          bytes: 1_000,
          sha256: old.sha256,
          written_at: 'then',
        },
      }),
    );
    const pointer = await store.readPointer();
    expect(pointer?.chunkPrefix).toBeUndefined();
    expect((await store.readBytes(pointer ?? (undefined as never))).equals(old.bytes)).toBe(true);
  });
});

describe('DynamoDbSnapshotStore on a restored table', () => {
  it('publishes under the new table’s epoch over the backup’s newer pointer, then only forward again', async () => {
    const original = await setUp();
    await original.store.write(snapshotOf(5, 700_000));
    await original.store.write(snapshotOf(6, 1_000));
    // A restore from a backup: a new table holding the same items, the pointer included.
    const restored = await setUp();
    const items = (await original.client.send(new ScanCommand({ TableName: original.tableName }))).Items ?? [];
    for (const item of items) await restored.client.send(new PutCommand({ TableName: restored.tableName, Item: item }));
    const copied = await restored.store.readPointer();
    expect(copied).toMatchObject({ version: 6, epoch: await original.store.epoch() });
    expect(await restored.store.epoch()).not.toBe(await original.store.epoch());
    // DynamoDB Local has no TableId: the epoch is the table's creation time.
    expect(await restored.store.epoch()).toMatch(/^created-\d{4}-\d\d-\d\dT/);

    const first = snapshotOf(4, 1_000);
    expect(await restored.store.write(first)).toBe(true);
    const pointer = await restored.store.readPointer();
    expect(pointer).toMatchObject({ version: 4, sha256: first.sha256, epoch: await restored.store.epoch() });
    expect((await restored.store.readBytes(pointer ?? (undefined as never))).equals(first.bytes)).toBe(true);
    // Within the new epoch the pointer moves forward only.
    expect(await restored.store.write(snapshotOf(4, 1_000))).toBe(false);
    expect(await restored.store.write(snapshotOf(3, 1_000))).toBe(false);
    expect((await restored.store.readPointer())?.sha256).toBe(first.sha256);
    // The old epoch's chunks sort above the new ones and stay until the versions pass them.
    expect(count(await chunkVersions(restored.client, restored.tableName))).toEqual({ 4: 1, 5: 3, 6: 1 });
    await restored.store.write(snapshotOf(7, 1_000));
    await restored.store.write(snapshotOf(8, 1_000));
    expect(count(await chunkVersions(restored.client, restored.tableName))).toEqual({ 7: 1, 8: 1 });
  });
});
