// The local event-source mapping on DynamoDB Local's real stream.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { isVersionRecord, versionOf } from '../../../lambdas/fanout/stream-filter.js';
import { LOCAL_CLIENT_CONFIG } from '../../../local/dynamodb-local.js';
import { LocalStreamReader } from '../../../local/propagation/stream-reader.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';

let table: TestTable;
let reader: LocalStreamReader;
const events: DynamoDBStreamEvent[] = [];

beforeAll(async () => {
  table = await createTestTable();
  const description = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
  reader = new LocalStreamReader({
    client: new DynamoDBStreamsClient({ ...LOCAL_CLIENT_CONFIG, endpoint: table.endpoint }),
    streamArn: description.Table?.LatestStreamArn ?? '',
    filter: isVersionRecord,
    handler: async (event) => {
      events.push(event);
    },
    onFailure: async () => undefined,
  });
  await reader.start();
});

afterAll(async () => {
  await reader?.stop();
});

describe('LocalStreamReader', () => {
  it('delivers only version records, one per write, in order, as Lambda events', async () => {
    const store = new DynamoDbPolicyStore({ client: documentClient(table.client), tableName: table.tableName });
    await store.createDestinations([tcpDestination('stream-a'), tcpDestination('stream-b')]);
    await store.createDestinations([tcpDestination('stream-c')]);
    const deadline = Date.now() + 10_000;
    while (events.flatMap((e) => e.Records).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const records = events.flatMap((event) => event.Records);
    expect(records.map(versionOf)).toEqual([1, 2]);
    expect(records[0]).toMatchObject({ eventSource: 'aws:dynamodb', eventName: 'INSERT' });
    expect(records[1]?.eventName).toBe('MODIFY');
  });

  it('polls at once when woken by a write, however long its pause between polls', async () => {
    const woken: DynamoDBStreamEvent[] = [];
    const description = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
    const slow = new LocalStreamReader({
      client: new DynamoDBStreamsClient({ ...LOCAL_CLIENT_CONFIG, endpoint: table.endpoint }),
      streamArn: description.Table?.LatestStreamArn ?? '',
      filter: isVersionRecord,
      handler: async (event) => {
        woken.push(event);
      },
      onFailure: async () => undefined,
      pollIntervalMs: 60_000,
    });
    await slow.start();
    try {
      // Past its first poll: the reader now pauses for a minute.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const store = new DynamoDbPolicyStore({ client: documentClient(table.client), tableName: table.tableName });
      await store.createDestinations([tcpDestination('stream-woken')]);
      slow.wake();
      await expect.poll(() => woken.length, { timeout: 2_000 }).toBe(1);
      // And stops at once, wherever its loop is, not at the end of a minute's pause.
      const stopping = performance.now();
      await slow.stop();
      expect(performance.now() - stopping).toBeLessThan(1_000);
    } finally {
      await slow.stop();
    }
  });
});
