// Paginated reads and retried transactions over the DynamoDB document client. No policy logic here.
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Key } from './items.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export type Item = Record<string, unknown>;
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** BatchGetItem's limit. */
const BATCH_GET_LIMIT = 100;
const MAX_UNPROCESSED_ROUNDS = 10;

/** Every item of one partition, following pagination to the end (never stopping at 1 MB). */
export async function queryPartition(client: DynamoDBDocumentClient, tableName: string, pk: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Items for the given keys (missing ones are simply absent), retrying unprocessed keys. */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
): Promise<Item[]> {
  const unique = [...new Map(keys.map((k) => [`${k[PARTITION_KEY]}\u0000${k[SORT_KEY]}`, k])).values()];
  const found: Item[] = [];
  for (let offset = 0; offset < unique.length; offset += BATCH_GET_LIMIT) {
    let pending: Record<string, unknown>[] = unique.slice(offset, offset + BATCH_GET_LIMIT);
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= MAX_UNPROCESSED_ROUNDS) throw new Error('DynamoDB kept returning unprocessed keys');
      if (round > 0) await sleep(backoffMs(round));
      const result = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...((result.Responses?.[tableName] ?? []) as Item[]));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}

/** True when a transaction was cancelled by a condition or a concurrent transaction: worth a retry. */
export function isCancelledTransaction(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'TransactionCanceledException' || name === 'TransactionConflictException';
}

export async function transactWrite(
  client: DynamoDBDocumentClient,
  items: TransactItem[],
  clientRequestToken?: string,
): Promise<void> {
  await client.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: clientRequestToken }));
}

export function backoffMs(attempt: number): number {
  const ceiling = Math.min(1_000, 20 * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
