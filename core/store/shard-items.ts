// Source shards in the policy table (core/domain/source-shards.ts), their change log and the lease
// that lets one publisher at a time write them. Each shard and each change entry has its own
// partition, so the reads of many cells after one change spread over the table.
//
//   pk                    sk       item
//   SHARD#<shard key>     SHARD    { version, epoch, data: <gzip'd snapshot of that source> }   (absent: empty)
//   SHARDLOG#<version>    CHANGES  { version, epoch, keys: [shard keys] } or { …, all: true }   (shard-log.ts)
//   SNAPSHOT              LEASE    { owner, expires_at, intent: [shard keys] or intent_all }
//   SHARDPOL#<shard key>  POLICIES the fan-out's list of that shard's policies (shard-policies.ts)
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { ShardKey } from '../domain/shard-keys.js';
import type { PolicyRef } from '../domain/version-changes.js';
import { IncompleteError, isIncomplete, retry, type Sleep } from '../retry.js';
import {
  batchGet,
  errorName,
  MAX_UNPROCESSED_ROUNDS,
  type TransactItem,
  transactWrite,
  unprocessedBackoff,
} from './dynamodb-io.js';
import { count, decoder } from './item-schemas.js';
import type { Key } from './items.js';
import { changesKey, readShardChanges, type ShardChanges } from './shard-log.js';
import { encodePolicyList, readShardPolicies, SHARD_POLICIES_PK_PREFIX, shardPoliciesKey } from './shard-policies.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

/** Above this many keys a change entry or an intent says `all`: an item holds at most 400 KB. */
export const MAX_LOGGED_KEYS = 2000;
/** A shard is one item: its compressed snapshot must fit DynamoDB's 400 KB with room for the keys. */
export const MAX_SHARD_BYTES = 350 * 1024;
const BATCH_WRITE_LIMIT = 25;
const WRITES_AT_ONCE = 8;

/** A source shard as stored: the version that wrote it, its table's epoch and its gzip'd snapshot. */
const decodeShard = decoder(
  z.object({ version: count, epoch: z.string(), data: z.instanceof(Uint8Array) }),
  (item) => ({ version: item.version, epoch: item.epoch, bytes: Buffer.from(item.data) }),
);

/** The publishing lease: who holds it until when, and the shards a holder said it would write. */
const decodePublishLease = decoder(
  z.object({
    owner: z.string(),
    expires_at: count,
    intent: z.optional(z.array(z.string())),
    intent_all: z.optional(z.boolean()),
  }),
  (item): { owner: string; expiresAt: number; intent: readonly string[] | 'all' } => ({
    owner: item.owner,
    expiresAt: item.expires_at,
    intent: item.intent_all === true ? 'all' : (item.intent ?? []),
  }),
);

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** Partition key prefixes, for IAM conditions on them (`SHARD#*` does not match `SHARDLOG#…`). */
export const SHARD_PK_PREFIX = 'SHARD#';

const shardKey = (key: ShardKey): Key => ({ [PARTITION_KEY]: `${SHARD_PK_PREFIX}${key}`, [SORT_KEY]: 'SHARD' });
const LEASE_KEY: Key = { [PARTITION_KEY]: 'SNAPSHOT', [SORT_KEY]: 'LEASE' };

export interface StoredShard {
  readonly version: number;
  readonly epoch: string;
  readonly bytes: Buffer;
}

function shardRequests(
  version: number,
  epoch: string,
  shards: ReadonlyMap<ShardKey, Buffer | undefined>,
): WriteRequest[] {
  return [...shards].map(([key, bytes]) => {
    if (bytes === undefined) return { DeleteRequest: { Key: shardKey(key) } };
    if (bytes.length > MAX_SHARD_BYTES) {
      throw new Error(
        `source shard ${key} is ${bytes.length} bytes compressed, above ${MAX_SHARD_BYTES}: too many rules for one source`,
      );
    }
    return { PutRequest: { Item: { ...shardKey(key), version, epoch, data: bytes } } };
  });
}

function policyListRequests(
  version: number,
  epoch: string,
  lists: ReadonlyMap<ShardKey, readonly PolicyRef[]>,
): WriteRequest[] {
  return [...lists].map(([key, policies]) => {
    if (policies.length === 0) return { DeleteRequest: { Key: shardPoliciesKey(key) } };
    const data = encodePolicyList(policies);
    if (data.length > MAX_SHARD_BYTES) {
      throw new Error(`policy list of shard ${key} is ${data.length} bytes compressed, above ${MAX_SHARD_BYTES}`);
    }
    return { PutRequest: { Item: { ...shardPoliciesKey(key), version, epoch, data } } };
  });
}

function changesItem(changes: ShardChanges): Record<string, unknown> {
  const { keys } = changes;
  const logged = keys === 'all' || keys.length > MAX_LOGGED_KEYS ? { all: true } : { keys: [...keys] };
  return { ...changesKey(changes.version), version: changes.version, epoch: changes.epoch, ...logged };
}

/** What a publisher that died holding the lease said it would write. */
export type Intent = readonly ShardKey[] | 'all';

export class ShardItems {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly sleep?: Sleep,
  ) {}

  /** The shards stored for these keys (consistent reads); a key without one is absent from the map. */
  async readShards(keys: readonly ShardKey[]): Promise<Map<ShardKey, StoredShard>> {
    const items = await batchGet(this.client, this.tableName, keys.map(shardKey), { sleep: this.sleep });
    const shards = new Map<ShardKey, StoredShard>();
    for (const item of items) {
      const pk = item[PARTITION_KEY];
      if (typeof pk === 'string' && pk.startsWith(SHARD_PK_PREFIX)) {
        shards.set(pk.slice(SHARD_PK_PREFIX.length), decodeShard(item));
      }
    }
    return shards;
  }

  /** The change entries of these versions; a version without one is absent from the map. */
  readChanges(versions: readonly number[]): Promise<Map<number, ShardChanges>> {
    return readShardChanges(this.client, this.tableName, versions, this.sleep);
  }

  /** The fan-out's policy lists of these shards, of `epoch` (shard-policies.ts). */
  readPolicies(keys: readonly ShardKey[], epoch: string): Promise<Map<ShardKey, PolicyRef[]>> {
    return readShardPolicies(this.client, this.tableName, keys, epoch, this.sleep);
  }

  /**
   * The key of every shard or policy list stored, whatever wrote it: a whole-table scan (keys only),
   * for the rare publish that cannot tell which exist (a holder that died writing `all`, a new epoch).
   */
  async listShardKeys(): Promise<ShardKey[]> {
    const keys = new Set<ShardKey>();
    const pages = paginateScan(
      { client: this.client },
      {
        TableName: this.tableName,
        FilterExpression: 'begins_with(#pk, :shard) OR begins_with(#pk, :policies)',
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        ExpressionAttributeValues: { ':shard': SHARD_PK_PREFIX, ':policies': SHARD_POLICIES_PK_PREFIX },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const pk: unknown = item[PARTITION_KEY];
        if (typeof pk !== 'string') continue;
        for (const prefix of [SHARD_PK_PREFIX, SHARD_POLICIES_PK_PREFIX]) {
          if (pk.startsWith(prefix)) keys.add(pk.slice(prefix.length));
        }
      }
    }
    return [...keys];
  }

  /** Writes each shard given and deletes each key mapped to `undefined` (an empty source). */
  async writeShards(version: number, epoch: string, shards: ReadonlyMap<ShardKey, Buffer | undefined>): Promise<void> {
    await this.batchWrite(shardRequests(version, epoch, shards));
  }

  /** Writes each shard's policy list; an empty one is deleted. */
  async writePolicies(
    version: number,
    epoch: string,
    lists: ReadonlyMap<ShardKey, readonly PolicyRef[]>,
  ): Promise<void> {
    await this.batchWrite(policyListRequests(version, epoch, lists));
  }

  /**
   * The writes of a publish as items of one transaction (at most 100 items and 4 MB, the caller's
   * to check): shards, policy lists and the change entry, and the check that no publisher holds the
   * lease or left an intent (a holder's half-written shards must be redone before anything else).
   */
  transactItems(
    writes: {
      readonly version: number;
      readonly epoch: string;
      readonly shards: ReadonlyMap<ShardKey, Buffer | undefined>;
      readonly lists: ReadonlyMap<ShardKey, readonly PolicyRef[]>;
      readonly changes: ShardChanges;
    },
    nowMs: number,
  ): TransactItem[] {
    const requests = [
      ...shardRequests(writes.version, writes.epoch, writes.shards),
      ...policyListRequests(writes.version, writes.epoch, writes.lists),
      { PutRequest: { Item: changesItem(writes.changes) } },
    ];
    return [
      ...requests.map((request): TransactItem => {
        if (request.PutRequest?.Item !== undefined) {
          return { Put: { TableName: this.tableName, Item: request.PutRequest.Item } };
        }
        if (request.DeleteRequest?.Key !== undefined) {
          return { Delete: { TableName: this.tableName, Key: request.DeleteRequest.Key } };
        }
        throw new Error('unreachable: a write request is a put or a delete');
      }),
      {
        ConditionCheck: {
          TableName: this.tableName,
          Key: LEASE_KEY,
          ConditionExpression:
            'attribute_not_exists(#owner) OR (#expires < :now AND attribute_not_exists(#all) AND (attribute_not_exists(#intent) OR size(#intent) = :zero))',
          ExpressionAttributeNames: {
            '#owner': 'owner',
            '#expires': 'expires_at',
            '#all': 'intent_all',
            '#intent': 'intent',
          },
          ExpressionAttributeValues: { ':now': nowMs, ':zero': 0 },
        },
      },
    ];
  }

  /** One TransactWriteItems of items made by transactItems and the caller's own. */
  transact(items: TransactItem[]): Promise<void> {
    return transactWrite(this.client, items);
  }

  async writeChanges(changes: ShardChanges): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: changesItem(changes) }));
  }

  async deleteChanges(versions: readonly number[]): Promise<void> {
    await this.batchWrite(versions.map((version) => ({ DeleteRequest: { Key: changesKey(version) } })));
  }

  /**
   * Takes the lease if it is free or expired. Returns what an earlier holder that did not finish said
   * it would write (it stays recorded until released), or undefined when someone else holds the lease.
   */
  async acquireLease(owner: string, nowMs: number, durationMs: number): Promise<Intent | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          UpdateExpression: 'SET #owner = :owner, #expires = :expires',
          ConditionExpression: 'attribute_not_exists(#owner) OR #expires < :now',
          ExpressionAttributeNames: { '#owner': 'owner', '#expires': 'expires_at' },
          ExpressionAttributeValues: { ':owner': owner, ':expires': nowMs + durationMs, ':now': nowMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return result.Attributes === undefined ? [] : decodePublishLease(result.Attributes).intent;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  /** Records the shards the holder is about to write, so that the next holder rewrites them if it dies. */
  async recordIntent(owner: string, intent: Intent): Promise<void> {
    const all = intent === 'all' || intent.length > MAX_LOGGED_KEYS;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: LEASE_KEY,
        UpdateExpression: all ? 'SET #all = :true REMOVE #intent' : 'SET #intent = :intent REMOVE #all',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner', '#intent': 'intent', '#all': 'intent_all' },
        ExpressionAttributeValues: { ':owner': owner, ...(all ? { ':true': true } : { ':intent': [...intent] }) },
      }),
    );
  }

  /** Gives the lease up with its intent: everything it named was written. */
  async releaseLease(owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      // Expired and taken over: the new holder has our intent and rewrites it.
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /**
   * Ends this holder's lease but keeps its intent, after a publish that failed part way: what it
   * said it would write may be half written, so the next holder (at once, not after the lease's 90 s)
   * rewrites it. Releasing instead would drop the intent, and a shard written ahead of a pointer that
   * never moved would stay as that failed publish left it when the next state does not touch it.
   * Expired and taken over already: the new holder has the intent; nothing to do.
   */
  abandonLease(owner: string): Promise<void> {
    return this.endLease(owner);
  }

  /**
   * Ends whoever holds the lease now, keeping its intent: the next acquireLease takes it at once and
   * rewrites what the holder said it would write. Only for a publisher that knows it is the only one
   * (local mode, whose pid file keeps a second instance out): a lease left is a crashed run's. No
   * lease: nothing to end.
   */
  expireLease(): Promise<void> {
    return this.endLease(undefined);
  }

  /** Sets the lease's expiry to 0, intent kept: `owner`'s only, or whoever's (undefined). */
  private async endLease(owner: string | undefined): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEASE_KEY,
          UpdateExpression: 'SET #expires = :zero',
          ConditionExpression: owner === undefined ? 'attribute_exists(#owner)' : '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#expires': 'expires_at' },
          ExpressionAttributeValues: { ':zero': 0, ...(owner === undefined ? {} : { ':owner': owner }) },
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /** The lease as stored, for tests and operators. */
  async readLease(): Promise<ReturnType<typeof decodePublishLease> | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: LEASE_KEY }));
    return result.Item === undefined ? undefined : decodePublishLease(result.Item);
  }

  /** BatchWriteItem in groups of 25. */
  private async batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    const groups: WriteRequest[][] = [];
    for (let offset = 0; offset < requests.length; offset += BATCH_WRITE_LIMIT) {
      groups.push(requests.slice(offset, offset + BATCH_WRITE_LIMIT));
    }
    // A few calls at once: a first publish writes thousands of shards, and more at once only queue.
    for (let first = 0; first < groups.length; first += WRITES_AT_ONCE) {
      await Promise.all(groups.slice(first, first + WRITES_AT_ONCE).map((group) => this.writeGroup(group)));
    }
  }

  /** One BatchWriteItem, sending again what DynamoDB leaves unprocessed (throttling). */
  private async writeGroup(group: WriteRequest[]): Promise<void> {
    let pending = group;
    await retry(
      async () => {
        const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = result.UnprocessedItems?.[this.tableName] ?? [];
        if (pending.length > 0) throw new IncompleteError(`DynamoDB left ${pending.length} shard write(s) unprocessed`);
      },
      { attempts: MAX_UNPROCESSED_ROUNDS, backoff: unprocessedBackoff, retryable: isIncomplete, sleep: this.sleep },
    );
  }
}
