// Writes that advance the policy version, shared by the stores of the policy table. Each write is one
// TransactWriteItems: the planned items, which carry the conditions that keep the data whole, plus
// +1 on the version record, so versions order all changes and the fan-out sees every one. A write is
// planned on consistent reads first, which gives precise errors; if a condition fails because someone
// else got in between, or the version record was busy, the whole write is planned again on fresh data.
// The same update stores the write's own description as the record's `changes` (version-changes.ts),
// or removes it when the write gives none or one too large: a record must never carry the previous
// write's description, or the fan-out would skip the shards this one touched.
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ContentionError } from '../domain/errors.js';
import { describable, policyRefFields, type VersionChanges } from '../domain/version-changes.js';
import { exponentialBackoff, retry, type Sleep } from '../retry.js';
import {
  cancellationCodes,
  type Item,
  isCancelledTransaction,
  type TransactItem,
  transactWrite,
} from './dynamodb-io.js';
import { versionKey } from './items.js';

/**
 * Writers that lost the version race retry after a fully jittered pause (at most 250 ms), so a few
 * concurrent writers spread out instead of colliding again; 20 attempts keep the worst case (about
 * 4 s of pauses) inside the API function's 10 s timeout.
 */
export const MAX_WRITE_ATTEMPTS = 20;
const writeBackoff = exponentialBackoff({ baseMs: 20, capMs: 250, jitter: 'full' });

export interface WritePlan<T> {
  /** Written all or nothing; none means there is nothing to write (and the version stays). */
  readonly items: readonly TransactItem[];
  readonly result: T;
  /**
   * Items whose failed condition is an answer rather than a lost race (a name guard that someone
   * else now holds): the write is refused with this error at once instead of being planned again.
   * Keyed by the very objects in `items`.
   */
  readonly refuseWhenConditionFails?: ReadonlyMap<TransactItem, () => Error>;
  /**
   * What the write changes, stored on the version record it moves. Absent: undescribed, and the
   * fan-out reads everything for this version.
   */
  readonly changes?: VersionChanges;
}

export interface VersionedWriterOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Pauses between planned-again writes. @default a timer */
  readonly sleep?: Sleep;
}

export class VersionedWriter {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly sleep: Sleep | undefined;

  constructor(options: VersionedWriterOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.sleep = options.sleep;
  }

  /**
   * Runs plan → commit, planning again when the transaction was cancelled by a concurrent writer;
   * ContentionError once the attempts are used up. `plan` may throw a domain error to refuse.
   */
  write<T>(plan: () => Promise<WritePlan<T>>): Promise<T> {
    return retry(
      async () => {
        const { items, result, refuseWhenConditionFails, changes } = await plan();
        if (items.length === 0) return result;
        try {
          // A token per attempt: should the SDK resend a transaction whose answer it lost (a timeout
          // after the commit), DynamoDB answers the resend as the commit, instead of it failing its
          // conditions against its own write (a delete that happened answered 404, say).
          await transactWrite(this.client, [...items, this.bumpVersion(changes)], randomUUID());
        } catch (error) {
          throw refusal(error, items, refuseWhenConditionFails) ?? error;
        }
        return result;
      },
      {
        attempts: MAX_WRITE_ATTEMPTS,
        backoff: writeBackoff,
        retryable: isCancelledTransaction,
        exhausted: (lastError) =>
          new ContentionError('too many concurrent changes; retry the request', { cause: lastError }),
        sleep: this.sleep,
      },
    );
  }

  put(item: Item, condition: string, names?: Record<string, string>, values?: Record<string, unknown>): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: item,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  delete(key: Item, condition: string, names?: Record<string, string>, values?: Record<string, unknown>): TransactItem {
    return {
      Delete: {
        TableName: this.tableName,
        Key: key,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  private bumpVersion(changes: VersionChanges | undefined): TransactItem {
    const described = changes === undefined ? undefined : describable(changes);
    return {
      Update: {
        TableName: this.tableName,
        Key: versionKey(),
        UpdateExpression: `ADD #version :one SET #updated = :now${described ? ', #changes = :changes' : ' REMOVE #changes'}`,
        ExpressionAttributeNames: { '#version': 'version', '#updated': 'updated_at', '#changes': 'changes' },
        ExpressionAttributeValues: {
          ':one': 1,
          ':now': new Date().toISOString(),
          ...(described ? { ':changes': storedChanges(described) } : {}),
        },
      },
    };
  }
}

/**
 * The description as a plain map of only its fields: the document client is not asked to drop
 * undefined values, and a caller's object may carry more than a PolicyRef.
 */
function storedChanges(changes: VersionChanges): Record<string, unknown> {
  return {
    added: changes.added.map(policyRefFields),
    removed: changes.removed.map(policyRefFields),
    keys: [...changes.keys],
  };
}

/** The refusal of the first item whose condition failed, if the plan named one for it. */
function refusal(
  error: unknown,
  items: readonly TransactItem[],
  refusals: ReadonlyMap<TransactItem, () => Error> | undefined,
): Error | undefined {
  if (!refusals) return undefined;
  // Reasons come in the order of the transaction's items; the version record is last.
  const codes = cancellationCodes(error);
  for (const [index, item] of items.entries()) {
    const refuse = refusals.get(item);
    if (refuse && codes[index] === 'ConditionalCheckFailed') return refuse();
  }
  return undefined;
}
