// Each attempt of a versioned write carries its own client request token, so a transaction the SDK
// resends after losing its answer is answered as the commit it was (DynamoDB's idempotency), and a
// write planned again after a cancellation is a new request. The SDK is mocked: the lost answer is
// an error path that cannot be staged against DynamoDB Local.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { VersionedWriter } from '../../../core/store/versioned-write.js';

describe('VersionedWriter', () => {
  it('sends every attempt with a client request token of its own', async () => {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    );
    const mock = mockClient(client);
    const cancelled = Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException' });
    mock.on(TransactWriteCommand).rejectsOnce(cancelled).resolves({});
    const writer = new VersionedWriter({ client, tableName: 'table', sleep: async () => undefined });
    let plans = 0;
    const result = await writer.write(async () => {
      plans += 1;
      return { items: [writer.put({ pk: 'A', sk: 'B' }, 'attribute_not_exists(pk)')], result: 'written' };
    });
    expect(result).toBe('written');
    expect(plans).toBe(2);
    const tokens = mock.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.ClientRequestToken);
    expect(tokens).toHaveLength(2);
    expect(tokens.every((token) => typeof token === 'string' && token.length > 0)).toBe(true);
    expect(new Set(tokens).size).toBe(2);
  });
});
