// Snapshots in the policy table: gzip'd chunks under one partition plus a small pointer naming the
// current one. Cells read the pointer on every sync (one small GetItem) and the chunks only when
// the version moved; the pointer only ever moves forward.
//
//   pk        sk                                     item
//   SNAPSHOT  CURRENT                                { version, chunks, bytes, sha256, chunk_prefix, epoch, written_at,
//                                                      shard_log?, latest_changes?, policy_index? }
//   SNAPSHOT  v<version 12 digits>#<sha256 16>#<n>   { data: <binary chunk> }
//
// Chunk keys carry the snapshot's checksum: two publishers of one version with different contents
// (possible when writes never pause, see snapshot-publisher.ts) write different chunks, and the
// pointer that wins names its own. Pointers written before chunk_prefix existed name `v<version>#`.
//
// The pointer carries the table's epoch (table-epoch.ts): a restored or recreated table counts its
// versions again, so a publisher of a new epoch moves the pointer whatever the old one's version,
// and cells compare versions only within one epoch.
//
// A pointer with `chunks` 0 names no whole snapshot: a publish of a few changed sources writes only
// their shards (sharded-snapshot-store.ts), and readers of whole snapshots refuse it.
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
} from '@aws-sdk/lib-dynamodb';
import { decodeSnapshot, type EncodedSnapshot, type PolicySnapshot } from '../domain/snapshot.js';
import type { SnapshotPointer, SnapshotStore, SnapshotWriteOptions } from '../domain/snapshot-store.js';
import { jsonLineLog, type Log } from '../log.js';
import { IncompleteError, isIncomplete, retry, type Sleep } from '../retry.js';
import { errorName, MAX_UNPROCESSED_ROUNDS, type TransactItem, unprocessedBackoff } from './dynamodb-io.js';
import { decodeKey, decodeSnapshotChunk, decodeSnapshotPointer } from './item-schemas.js';
import { type Key, SNAPSHOT_PK, snapshotPointerKey } from './items.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';
import { tableEpoch } from './table-epoch.js';

export { SNAPSHOT_PK } from './items.js';

/** Well under DynamoDB's 400 KB item limit. */
const CHUNK_BYTES = 300 * 1024;
/** Chunks written at once (each up to 300 write units on the one SNAPSHOT partition key). */
const CHUNKS_AT_ONCE = 3;
/** The lowest possible chunk sort key: every chunk key starts with 'v'. */
const CHUNK_KEY_START = 'v';
/** BatchWriteItem's limit. */
const BATCH_WRITE_LIMIT = 25;

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

export interface SnapshotStoreOptions {
  /** Items per page when pruning old chunks (tests use a small one); default: DynamoDB's 1 MB pages. */
  readonly pageSize?: number;
  /**
   * Warned when old chunks could not be deleted. The snapshot is published all the same and the next
   * publish deletes them (it removes every older version). @default JSON lines, service dynamic-egress
   */
  readonly log?: Log;
  /** Pauses between rounds of deletes DynamoDB left unprocessed. @default a timer */
  readonly sleep?: Sleep;
}

/** Every chunk of a version, whatever its checksum, sorts after this and before the next version's. */
const versionPrefix = (version: number): string => `v${String(version).padStart(12, '0')}#`;
const chunkPrefixOf = (version: number, sha256: string): string => `${versionPrefix(version)}${sha256.slice(0, 16)}#`;

/** Where the whole snapshot a pointer names is: none when `chunks` is 0. */
interface WholeSnapshot {
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly chunk_prefix?: string;
}

function pointerItem(
  version: number,
  epoch: string,
  whole: WholeSnapshot,
  options: Pick<PointerWriteOptions, 'shardLog' | 'latestChanges' | 'policyIndex'>,
): Record<string, unknown> {
  return {
    ...snapshotPointerKey(),
    version,
    ...whole,
    epoch,
    written_at: new Date().toISOString(),
    ...(options.shardLog === undefined ? {} : { shard_log: [...options.shardLog] }),
    ...(options.latestChanges === undefined ? {} : { latest_changes: [...options.latestChanges] }),
    ...(options.policyIndex === true ? { policy_index: true } : {}),
  };
}

/** How a lease holder (sharded-snapshot-store.ts) has the pointer written. */
export interface PointerWriteOptions extends SnapshotWriteOptions {
  readonly shardLog?: readonly number[];
  readonly latestChanges?: readonly string[];
  /** The fan-out's per-shard policy lists (shard-policies.ts) are complete for this pointer. */
  readonly policyIndex?: boolean;
  /** The current pointer, when the caller read it and nobody else can move it (a lease holder). */
  readonly previous?: SnapshotPointer;
  /**
   * The caller's own writes the pointer must follow (a lease holder's shards and change entry):
   * started before this call, made beside the chunks, awaited before the pointer moves.
   */
  readonly alongside?: Promise<unknown>;
}

export class DynamoDbSnapshotStore implements SnapshotStore {
  /** Described once per store: a table's identity never changes. */
  private epochRead: Promise<string> | undefined;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: SnapshotStoreOptions = {},
  ) {}

  async readPointer(): Promise<SnapshotPointer | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: snapshotPointerKey(), ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : decodeSnapshotPointer(result.Item);
  }

  epoch(): Promise<string> {
    this.epochRead ??= tableEpoch(this.client, this.tableName).catch((error: unknown) => {
      // A failed DescribeTable is asked again next time, not remembered.
      this.epochRead = undefined;
      throw error;
    });
    return this.epochRead;
  }

  /** Reads and verifies the snapshot a pointer names. Throws ValidationError if chunks are missing or mixed. */
  async read(pointer: SnapshotPointer): Promise<PolicySnapshot> {
    return decodeSnapshot(await this.readBytes(pointer), pointer.sha256);
  }

  /** The snapshot's compressed bytes, as stored (verify with decodeSnapshot). */
  async readBytes(pointer: SnapshotPointer): Promise<Buffer> {
    const prefix = pointer.chunkPrefix ?? versionPrefix(pointer.version);
    const parts: Uint8Array[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
        ExpressionAttributeValues: { ':pk': SNAPSHOT_PK, ':prefix': prefix },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) parts.push(decodeSnapshotChunk(item));
    return Buffer.concat(parts);
  }

  /**
   * Writes the chunks, then moves the pointer if this version is newer than the current one or the
   * current one is of another epoch. Returns false when a newer (or the same) snapshot of this epoch
   * was already current. Prunes all but the previous snapshot, so a reader in the middle of one
   * always finds it whole.
   */
  async write(snapshot: EncodedSnapshot, options: PointerWriteOptions = {}): Promise<boolean> {
    const epoch = await this.epoch();
    const previous = 'previous' in options ? options.previous : await this.readPointer();
    if (previous && previous.epoch === epoch && previous.version >= snapshot.version) {
      await options.alongside;
      return false;
    }
    const prefix = chunkPrefixOf(snapshot.version, snapshot.sha256);
    const chunks = Math.max(1, Math.ceil(snapshot.bytes.length / CHUNK_BYTES));
    const putChunk = (index: number) =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(`${prefix}${String(index).padStart(5, '0')}`),
            data: snapshot.bytes.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES),
          },
        }),
      );
    // The pointer is what makes them visible: until it moves, the order of these writes is no one's
    // concern (CHUNKS_AT_ONCE at a time).
    const chunksWritten = (async () => {
      for (let first = 0; first < chunks; first += CHUNKS_AT_ONCE) {
        const last = Math.min(chunks, first + CHUNKS_AT_ONCE);
        await Promise.all(Array.from({ length: last - first }, (_, offset) => putChunk(first + offset)));
      }
    })();
    await Promise.all([options.alongside, chunksWritten]);
    const whole = { chunks, bytes: snapshot.bytes.length, sha256: snapshot.sha256, chunk_prefix: prefix };
    if (!(await this.putPointer(snapshot.version, epoch, whole, options))) return false;
    await Promise.all([
      // Below both: a new epoch's first snapshot may be older than the previous epoch's last.
      previous === undefined ? undefined : this.pruneOrWarn(Math.min(previous.version, snapshot.version)),
      options.afterPointer?.(),
    ]);
    return true;
  }

  /**
   * Moves the pointer to `version` without a whole snapshot (`chunks` 0, no checksum): the state is
   * in the source shards only, which a lease holder wrote (`alongside`). Readers of whole snapshots
   * (agents from before source shards) refuse such a pointer and keep their rules. The chunks of
   * the last whole snapshot stay until the next one is written.
   */
  async movePointer(
    version: number,
    options: PointerWriteOptions & { readonly previous: SnapshotPointer },
  ): Promise<boolean> {
    const epoch = await this.epoch();
    const { previous } = options;
    if (previous.epoch === epoch && previous.version >= version) {
      await options.alongside;
      return false;
    }
    await options.alongside;
    if (!(await this.putPointer(version, epoch, { chunks: 0, bytes: 0, sha256: '' }, options))) return false;
    await options.afterPointer?.();
    return true;
  }

  /**
   * The move of the pointer from `previous` to `version` (shards only, as movePointer writes it) as
   * one item of the caller's transaction: it fails unless the pointer is still `previous`.
   */
  movePointerItem(
    version: number,
    epoch: string,
    previous: SnapshotPointer,
    options: Pick<PointerWriteOptions, 'shardLog' | 'latestChanges' | 'policyIndex'>,
  ): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: pointerItem(version, epoch, { chunks: 0, bytes: 0, sha256: '' }, options),
        ConditionExpression: '#version = :previous AND #epoch = :epoch',
        ExpressionAttributeNames: { '#version': 'version', '#epoch': 'epoch' },
        ExpressionAttributeValues: { ':previous': previous.version, ':epoch': epoch },
      },
    };
  }

  /** Puts the pointer unless one of this epoch at this version or newer is there; false then. */
  private async putPointer(
    version: number,
    epoch: string,
    whole: WholeSnapshot,
    options: PointerWriteOptions,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: pointerItem(version, epoch, whole, options),
          ConditionExpression:
            'attribute_not_exists(#version) OR #version < :version OR attribute_not_exists(#epoch) OR #epoch <> :epoch',
          ExpressionAttributeNames: { '#version': 'version', '#epoch': 'epoch' },
          ExpressionAttributeValues: { ':version': version, ':epoch': epoch },
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private pruneOrWarn(keepFrom: number): Promise<void> {
    return this.prune(keepFrom).catch((error: unknown) =>
      (this.options.log ?? jsonLineLog({ service: 'dynamic-egress' })).warn(
        'old snapshot chunks were not deleted; the next publish retries',
        { error },
      ),
    );
  }

  /**
   * Deletes chunks of versions older than `keepFrom`. Follows every page: old chunks are up to 300 KB
   * each, so a single 1 MB page can hold as few as three of them and the rest would leak.
   */
  private async prune(keepFrom: number): Promise<void> {
    const pages = paginateQuery(
      { client: this.client, pageSize: this.options.pageSize },
      {
        TableName: this.tableName,
        // Chunk keys only ('v…'): the pointer ('CURRENT') sorts before them and is never read here.
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :keep',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
        ExpressionAttributeValues: { ':pk': SNAPSHOT_PK, ':first': CHUNK_KEY_START, ':keep': versionPrefix(keepFrom) },
        ProjectionExpression: '#pk, #sk',
      },
    );
    for await (const page of pages) await this.deleteChunks((page.Items ?? []).map(decodeKey));
  }

  /**
   * BatchWriteItem in groups of 25, sending again what DynamoDB leaves unprocessed (throttling);
   * IncompleteError when some are still left after the last round.
   */
  private async deleteChunks(keys: readonly Key[]): Promise<void> {
    for (let offset = 0; offset < keys.length; offset += BATCH_WRITE_LIMIT) {
      let pending: WriteRequest[] = keys
        .slice(offset, offset + BATCH_WRITE_LIMIT)
        .map((key) => ({ DeleteRequest: { Key: key } }));
      await retry(
        async () => {
          const result = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
          pending = result.UnprocessedItems?.[this.tableName] ?? [];
          if (pending.length > 0) {
            throw new IncompleteError(`DynamoDB left ${pending.length} snapshot chunk delete(s) unprocessed`);
          }
        },
        {
          attempts: MAX_UNPROCESSED_ROUNDS,
          backoff: unprocessedBackoff,
          retryable: isIncomplete,
          sleep: this.options.sleep,
        },
      );
    }
  }

  private key(sk: string): Key {
    return { [PARTITION_KEY]: SNAPSHOT_PK, [SORT_KEY]: sk };
  }
}
