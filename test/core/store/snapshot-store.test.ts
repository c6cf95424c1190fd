// Pruning against a mocked DynamoDB: what DynamoDB Local never does, leave deletes unprocessed.
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../core/domain/snapshot.js';
import { type Log, silentLog } from '../../../core/log.js';
import { IncompleteError } from '../../../core/retry.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';

const TABLE = 'policies';
const chunkKey = (version: number) => ({ pk: 'SNAPSHOT', sk: `v${String(version).padStart(12, '0')}#00000` });

function mockedStore(options: { log?: Log; pauses?: number[]; pageSize?: number } = {}) {
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  const ddb = mockClient(documents);
  ddb.on(DescribeTableCommand).resolves({ Table: { TableId: 'table-1' } });
  ddb.on(GetCommand).resolves({
    Item: { version: 10, chunks: 1, bytes: 1, sha256: 'x', written_at: 'then', epoch: 'table-1' },
  });
  ddb.on(PutCommand).resolves({});
  const pauses = options.pauses ?? [];
  const store = new DynamoDbSnapshotStore(documents, TABLE, {
    ...(options.log ? { log: options.log } : {}),
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
  return { ddb, store };
}

describe('DynamoDbSnapshotStore pruning (mocked DynamoDB)', () => {
  it('retries deletes DynamoDB leaves unprocessed, and follows LastEvaluatedKey', async () => {
    const { ddb, store } = mockedStore();
    const firstPage = Array.from({ length: 30 }, (_, i) => chunkKey(i + 1));
    // The paginator sends one input object, updated between pages: note each start key as sent.
    const startKeys: unknown[] = [];
    const pages = [{ Items: firstPage, LastEvaluatedKey: chunkKey(30) }, { Items: [chunkKey(31)] }];
    ddb.on(QueryCommand).callsFake((input: { ExclusiveStartKey?: unknown }) => {
      startKeys.push(input.ExclusiveStartKey);
      return pages[startKeys.length - 1];
    });
    const unprocessed = [{ DeleteRequest: { Key: chunkKey(3) } }, { DeleteRequest: { Key: chunkKey(7) } }];
    ddb
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: unprocessed } })
      .resolves({});

    const bytes = Buffer.from('snapshot 11');
    expect(await store.write({ version: 11, bytes, sha256: sha256(bytes) })).toBe(true);

    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(startKeys).toEqual([undefined, chunkKey(30)]);
    expect(queries).toHaveLength(2);
    expect(queries[0]?.ExpressionAttributeValues).toMatchObject({ ':keep': 'v000000000010#' });
    const batches = ddb
      .commandCalls(BatchWriteCommand)
      .map((call) => (call.args[0].input.RequestItems?.[TABLE] ?? []).map((request) => request.DeleteRequest?.Key));
    // 25 of page one; its 2 unprocessed again; the other 5 of page one; page two's one.
    expect(batches).toEqual([firstPage.slice(0, 25), [chunkKey(3), chunkKey(7)], firstPage.slice(25), [chunkKey(31)]]);
  });

  it('asks for pages of the configured size', async () => {
    const { ddb, store } = mockedStore({ pageSize: 7 });
    ddb.on(QueryCommand).resolves({ Items: [] });
    const bytes = Buffer.from('snapshot 11');
    expect(await store.write({ version: 11, bytes, sha256: sha256(bytes) })).toBe(true);
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.Limit)).toEqual([7]);
  });

  it('gives up on deletes that stay unprocessed, reports it, and still counts the snapshot as published', async () => {
    const pruneErrors: unknown[] = [];
    const warnings: string[] = [];
    const log: Log = {
      ...silentLog,
      warn: (message, attributes) => {
        warnings.push(message);
        pruneErrors.push(attributes?.error);
      },
    };
    const pauses: number[] = [];
    const { ddb, store } = mockedStore({ log, pauses });
    ddb.on(QueryCommand).resolves({ Items: [chunkKey(1)] });
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: [{ DeleteRequest: { Key: chunkKey(1) } }] } });
    const bytes = Buffer.from('snapshot 11');
    // The pointer has moved: cells see the new snapshot, and the next publish deletes what is left.
    expect(await store.write({ version: 11, bytes, sha256: sha256(bytes) })).toBe(true);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(10);
    expect(warnings).toEqual(['old snapshot chunks were not deleted; the next publish retries']);
    expect(pruneErrors).toHaveLength(1);
    expect(pruneErrors[0]).toBeInstanceOf(IncompleteError);
    expect(String(pruneErrors[0])).toMatch(/unprocessed/);
    // Equal jitter between rounds: half the ceiling at least, the ceiling (doubling from 40 ms to 1 s) at most.
    expect(pauses).toHaveLength(9);
    pauses.forEach((ms, index) => {
      const ceiling = Math.min(1_000, 40 * 2 ** index);
      expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
      expect(ms).toBeLessThanOrEqual(ceiling);
    });
  });
});

describe('DynamoDbSnapshotStore epoch (mocked DynamoDB: only AWS returns a TableId)', () => {
  it('stamps the TableId on the pointer, described once, and asks again after a failed describe', async () => {
    const { ddb, store } = mockedStore();
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb
      .on(DescribeTableCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ Table: { TableId: 'table-2', CreationDateTime: new Date(0) } });
    await expect(store.epoch()).rejects.toThrow('throttled');
    const bytes = Buffer.from('snapshot 10');
    // The current pointer is version 10 of table-1: version 10 of table-2 replaces it.
    expect(await store.write({ version: 10, bytes, sha256: sha256(bytes) })).toBe(true);
    expect(await store.write({ version: 11, bytes, sha256: sha256(bytes) })).toBe(true);
    const pointers = ddb
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input.Item)
      .filter((item) => item?.sk === 'CURRENT');
    expect(pointers.map((item) => [item?.version, item?.epoch])).toEqual([
      [10, 'table-2'],
      [11, 'table-2'],
    ]);
    expect(ddb.commandCalls(DescribeTableCommand)).toHaveLength(2);
  });
});
