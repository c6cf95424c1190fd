// The policy store against a mocked DynamoDB: what DynamoDB Local makes hard to provoke on demand,
// writers that keep losing the race and keys left unprocessed. Sleep is injected: nothing waits.
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ContentionError } from '../../../core/domain/errors.js';
import { IncompleteError } from '../../../core/retry.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { tcpDestination } from '../../helpers/fixtures.js';

const TABLE = 'policies';

function mockedStore() {
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  const ddb = mockClient(documents);
  const pauses: number[] = [];
  let ids = 0;
  const store = new DynamoDbPolicyStore({
    client: documents,
    tableName: TABLE,
    newId: () => `id-${++ids}`,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
  return { ddb, store, pauses };
}

const cancelled = () =>
  new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: [] });

const storedDestination = (id: string) => ({ pk: 'DEST', sk: id, id, ...tcpDestination(`name-${id}`), refs: 0 });

describe('DynamoDbPolicyStore writes that lose the race', () => {
  it('plans again after a cancelled transaction and commits', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled()).rejectsOnce(cancelled()).resolves({});
    const [created] = await store.createDestinations([tcpDestination('racy')]);
    expect(created?.name).toBe('racy');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
    // Planned again each time: the name guard is read before every attempt.
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(3);
    expect(pauses).toHaveLength(2);
  });

  it('gives up after 20 attempts with ContentionError, pausing at most 250 ms (full jitter)', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    ddb.on(TransactWriteCommand).rejects(cancelled());
    const error = await store.createDestinations([tcpDestination('always-busy')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentionError);
    expect(error).toMatchObject({ cause: expect.any(TransactionCanceledException) });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(20);
    expect(pauses).toHaveLength(19);
    pauses.forEach((ms, index) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(Math.min(250, 20 * 2 ** index));
    });
  });

  it('throws any other failure at once', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    ddb.on(TransactWriteCommand).rejects(new Error('ValidationException: item too large'));
    await expect(store.createDestinations([tcpDestination('broken')])).rejects.toThrow(/item too large/);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(pauses).toEqual([]);
  });
});

describe('DynamoDbPolicyStore reads with unprocessed keys', () => {
  it('asks again for the keys DynamoDB left unprocessed', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [storedDestination('a')] },
        UnprocessedKeys: { [TABLE]: { Keys: [{ pk: 'DEST', sk: 'b' }] } },
      })
      .resolves({ Responses: { [TABLE]: [storedDestination('b')] } });
    const found = await store.listDestinations({ ids: ['a', 'b'] });
    expect(found.map((destination) => destination.id)).toEqual(['a', 'b']);
    const asked = ddb.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems?.[TABLE]?.Keys);
    expect(asked).toEqual([
      [
        { pk: 'DEST', sk: 'a' },
        { pk: 'DEST', sk: 'b' },
      ],
      [{ pk: 'DEST', sk: 'b' }],
    ]);
    expect(pauses).toHaveLength(1);
  });

  it('gives up after 10 rounds with IncompleteError, pausing with equal jitter', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb.on(BatchGetCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [{ pk: 'DEST', sk: 'a' }] } } });
    await expect(store.listDestinations({ ids: ['a'] })).rejects.toThrow(IncompleteError);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(10);
    expect(pauses).toHaveLength(9);
    pauses.forEach((ms, index) => {
      const ceiling = Math.min(1_000, 40 * 2 ** index);
      expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
      expect(ms).toBeLessThanOrEqual(ceiling);
    });
  });
});
