// The change log of source shards: one entry per publish, naming the shard keys it changed (see
// shard-items.ts for the layout). Apart from the shard writer so that readers of the log alone (the
// API's cell list) do not load the writes, the lease and the scan.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { ShardKey } from '../domain/shard-keys.js';
import type { Sleep } from '../retry.js';
import { batchGet } from './dynamodb-io.js';
import { count, decoder } from './item-schemas.js';
import type { Key } from './items.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export const SHARD_LOG_PK_PREFIX = 'SHARDLOG#';

export interface ShardChanges {
  readonly version: number;
  readonly epoch: string;
  readonly keys: readonly ShardKey[] | 'all';
}

const shardChangesSchema = z.object({
  version: count,
  epoch: z.string(),
  keys: z.optional(z.array(z.string())),
  all: z.optional(z.boolean()),
});

/** One publish's change log entry: the shard keys it changed, or `all`. */
const decodeShardChanges = decoder(
  shardChangesSchema,
  (item): ShardChanges => ({
    version: item.version,
    epoch: item.epoch,
    keys: item.all === true || item.keys === undefined ? 'all' : item.keys,
  }),
);

export const changesKey = (version: number): Key => ({
  [PARTITION_KEY]: `${SHARD_LOG_PK_PREFIX}${String(version).padStart(12, '0')}`,
  [SORT_KEY]: 'CHANGES',
});

/** The change entries of these versions (consistent reads); a version without one is absent. */
export async function readShardChanges(
  client: DynamoDBDocumentClient,
  tableName: string,
  versions: readonly number[],
  sleep?: Sleep,
): Promise<Map<number, ShardChanges>> {
  const items = await batchGet(client, tableName, versions.map(changesKey), { sleep });
  const changes = new Map<number, ShardChanges>();
  for (const item of items) {
    const entry = decodeShardChanges(item);
    changes.set(entry.version, entry);
  }
  return changes;
}
