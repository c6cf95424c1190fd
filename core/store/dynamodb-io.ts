// Paginated reads, batched reads and transactions over the DynamoDB document client. No policy
// logic here, and no item shapes: callers decode what they read (item-schemas.ts).
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { exponentialBackoff, IncompleteError, isIncomplete, retry, type Sleep } from '../retry.js';
import type { Key } from './items.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

/** An item as read, not yet decoded. */
export type Item = Record<string, unknown>;
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** BatchGetItem's limit. */
const BATCH_GET_LIMIT = 100;
/** BatchGetItem calls one read runs at once. */
const BATCH_GETS_AT_ONCE = 4;

/**
 * Keys or writes DynamoDB leaves unprocessed (it was throttled) are sent again, 10 rounds at most,
 * after a pause that doubles from 20-40 ms up to 0.5-1 s: never at once, since the table is busy.
 */
export const MAX_UNPROCESSED_ROUNDS = 10;
export const unprocessedBackoff = exponentialBackoff({ baseMs: 40, capMs: 1_000, jitter: 'equal' });

export interface UnprocessedRetryOptions {
  /** @default a timer; tests pass one that waits for nothing */
  readonly sleep?: Sleep;
}

/** Every item of one partition, following pagination to the end (never stopping at 1 MB). */
export async function queryPartition(client: DynamoDBDocumentClient, tableName: string, pk: string): Promise<Item[]> {
  const items: Item[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY },
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

/**
 * Items for the given keys (missing ones are simply absent), retrying unprocessed keys; throws
 * IncompleteError when some are still unprocessed after the last round.
 */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
  options: UnprocessedRetryOptions = {},
): Promise<Item[]> {
  const unique = [...new Map(keys.map((k) => [`${k[PARTITION_KEY]}\u0000${k[SORT_KEY]}`, k])).values()];
  const chunks: Item[][] = [];
  for (let offset = 0; offset < unique.length; offset += BATCH_GET_LIMIT) {
    chunks.push(unique.slice(offset, offset + BATCH_GET_LIMIT));
  }
  const found: Item[] = [];
  const readChunk = async (keysOfChunk: Item[]): Promise<void> => {
    let pending = keysOfChunk;
    await retry(
      async () => {
        const result = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        found.push(...(result.Responses?.[tableName] ?? []));
        pending = result.UnprocessedKeys?.[tableName]?.Keys ?? [];
        if (pending.length > 0) throw new IncompleteError(`DynamoDB left ${pending.length} key(s) unprocessed`);
      },
      { attempts: MAX_UNPROCESSED_ROUNDS, backoff: unprocessedBackoff, retryable: isIncomplete, sleep: options.sleep },
    );
  };
  // A few calls at once: 1,000 keys are ten calls, and their latencies need not add up.
  for (let first = 0; first < chunks.length; first += BATCH_GETS_AT_ONCE) {
    await Promise.all(chunks.slice(first, first + BATCH_GETS_AT_ONCE).map(readChunk));
  }
  return found;
}

/** The `name` of an error the SDK threw (a service exception's code); undefined for anything else. */
export function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** True when a transaction was cancelled by a condition or a concurrent transaction: worth a retry. */
export function isCancelledTransaction(error: unknown): boolean {
  const name = errorName(error);
  return name === 'TransactionCanceledException' || name === 'TransactionConflictException';
}

/**
 * The reason code of each item of a cancelled transaction, in the order of its items
 * (`ConditionalCheckFailed`, `TransactionConflict`, `None`, ...); empty for any other error or when
 * DynamoDB gave no reasons. Read structurally: the exception is the SDK's, not ours to trust.
 */
export function cancellationCodes(error: unknown): (string | undefined)[] {
  if (errorName(error) !== 'TransactionCanceledException' || typeof error !== 'object' || error === null) return [];
  const reasons: unknown = 'CancellationReasons' in error ? error.CancellationReasons : undefined;
  if (!Array.isArray(reasons)) return [];
  return reasons.map((reason: unknown) =>
    typeof reason === 'object' && reason !== null && 'Code' in reason && typeof reason.Code === 'string'
      ? reason.Code
      : undefined,
  );
}

export async function transactWrite(
  client: DynamoDBDocumentClient,
  items: TransactItem[],
  clientRequestToken?: string,
): Promise<void> {
  await client.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: clientRequestToken }));
}
