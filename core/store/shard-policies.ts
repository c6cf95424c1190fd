// The fan-out's own index: the policies behind each source shard, so that a change to one source is
// published by reading that source's list, not every policy (sharded-snapshot-store.ts). Cells never
// read these (their IAM prefix `SHARD#` does not match `SHARDPOL#`).
//
//   pk                    sk        item
//   SHARDPOL#<shard key>  POLICIES  { version, epoch, data: <gzip'd JSON list of PolicyRef> }  (absent: none)
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { ShardKey } from '../domain/shard-keys.js';
import { type PolicyRef, policyRefFields, policyRefSchema } from '../domain/version-changes.js';
import type { Sleep } from '../retry.js';
import { batchGet } from './dynamodb-io.js';
import { count, decoder } from './item-schemas.js';
import type { Key } from './items.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export const SHARD_POLICIES_PK_PREFIX = 'SHARDPOL#';

export const shardPoliciesKey = (key: ShardKey): Key => ({
  [PARTITION_KEY]: `${SHARD_POLICIES_PK_PREFIX}${key}`,
  [SORT_KEY]: 'POLICIES',
});

const decodeItem = decoder(
  z.object({ [PARTITION_KEY]: z.string(), version: count, epoch: z.string(), data: z.instanceof(Uint8Array) }),
  (item) => ({ key: item[PARTITION_KEY].slice(SHARD_POLICIES_PK_PREFIX.length), epoch: item.epoch, data: item.data }),
);

const policyListSchema = z.array(policyRefSchema);

/** The stored list's bytes. */
export function encodePolicyList(policies: readonly PolicyRef[]): Buffer {
  return gzipSync(JSON.stringify(policies.map(policyRefFields)));
}

function decodePolicyList(data: Uint8Array, key: ShardKey): PolicyRef[] {
  let value: unknown;
  try {
    value = JSON.parse(gunzipSync(data).toString('utf8'));
  } catch (error) {
    throw new Error(`policy list of shard ${key}: not gzip'd JSON: ${(error as Error).message}`);
  }
  const parsed = policyListSchema.safeParse(value);
  if (!parsed.success) throw new Error(`policy list of shard ${key}: ${parsed.error.message}`);
  return parsed.data.map(policyRefFields);
}

/**
 * The policy lists of these shards, of `epoch` (consistent reads). A key without a list has no
 * policies; one of another epoch (a restored table's) is an error: the caller reads everything.
 */
export async function readShardPolicies(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly ShardKey[],
  epoch: string,
  sleep?: Sleep,
): Promise<Map<ShardKey, PolicyRef[]>> {
  const lists = new Map<ShardKey, PolicyRef[]>(keys.map((key) => [key, []]));
  for (const item of await batchGet(client, tableName, keys.map(shardPoliciesKey), { sleep })) {
    const stored = decodeItem(item);
    if (stored.epoch !== epoch) throw new Error(`policy list of shard ${stored.key} is of another epoch`);
    lists.set(stored.key, decodePolicyList(stored.data, stored.key));
  }
  return lists;
}
