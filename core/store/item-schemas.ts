// Items as DynamoDB returns them, decoded where they enter the code. An item that is not what the
// store writes (damaged, edited by hand, a layout this code does not know) becomes an IntegrityError
// naming its key and the field, instead of a wrong value passed on to the API or to the cells.
// zod/mini keeps the Lambda and agent bundles small. The rules of the model were checked when the
// item was written; here only the shape is, plus what would make a cell misread a rule.
import * as z from 'zod/mini';
import type { CellReport } from '../domain/cells.js';
import { IntegrityError } from '../domain/errors.js';
import { HTTP_METHODS } from '../domain/http-routes.js';
import { isIpv4 } from '../domain/ipv4.js';
import type { Job } from '../domain/jobs.js';
import { PROTOCOLS, SOURCE_TYPES } from '../domain/model-primitives.js';
import { SECURITY_GROUP_PROTOCOLS, type SecurityGroup } from '../domain/security-group.js';
import type { SnapshotPointer } from '../domain/snapshot-store.js';
import type { Destination } from '../domain/types.js';
import type { Item } from './dynamodb-io.js';
import { type Key, type PolicyItem, toDestination, toSecurityGroup } from './items.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

const keyFields = { [PARTITION_KEY]: z.string(), [SORT_KEY]: z.string() };
/** A whole number ≥ 0 as stored (versions, counters). */
export const count = z.int().check(z.nonnegative());
const ipv4 = z.string().check(z.refine(isIpv4, 'expected an IPv4 address'));

const destinationSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.optional(z.string()),
  ips: z.array(z.object({ start: ipv4, end: ipv4 })),
  // Absent on destinations matched by address only, and on all written before host names existed.
  hosts: z.optional(z.array(z.string())),
  // Absent on icmp destinations written before ports were always stored.
  ports: z.optional(z.array(z.object({ start: z.int(), end: z.int() }))),
  protocol: z.enum(PROTOCOLS),
  icmp_type: z.optional(z.int()),
  icmp_code: z.optional(z.int()),
  // http destinations only, when they have routes.
  routes: z.optional(
    z.array(
      z.object({
        methods: z.optional(z.array(z.enum(HTTP_METHODS))),
        path_regex: z.optional(z.string()),
        headers: z.optional(z.record(z.string(), z.string())),
      }),
    ),
  ),
  // Absent on destinations written before the counter existed; a policy create adds it. It may be
  // negative: deleting a policy that predates the counter subtracts from a counter that never
  // counted it. Such a destination still reads and lists; deleting it is refused until its counter is
  // repaired (see docs/api.md).
  refs: z.optional(z.int()),
  // +1 per policy create or delete on the destination; absent until the first one since it existed.
  ref_writes: z.optional(count),
});

const destinationNameSchema = z.object({ [SORT_KEY]: z.string(), id: z.string() });

const policySchema = z.object({
  id: z.string(),
  source_type: z.enum(SOURCE_TYPES),
  source_id: z.string(),
  destination_id: z.string(),
  // Absent on policies for every lifecycle, and on those written before lifecycles existed.
  app_lifecycle: z.optional(z.enum(['running', 'staging'])),
});

const destinationRefSchema = z.object({ ...keyFields, policy_id: z.string() });

const guids = z.array(z.string());

const securityGroupSchema = z.object({
  guid: z.string(),
  name: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  globally_enabled_running: z.boolean(),
  globally_enabled_staging: z.boolean(),
  rules: z.array(
    z.object({
      protocol: z.enum(SECURITY_GROUP_PROTOCOLS),
      destination: z.string(),
      ports: z.optional(z.string()),
      type: z.optional(z.int()),
      code: z.optional(z.int()),
      log: z.optional(z.boolean()),
      description: z.optional(z.string()),
    }),
  ),
  running_spaces: guids,
  running_organizations: guids,
  staging_spaces: guids,
  staging_organizations: guids,
  revision: count,
});

const securityGroupNameSchema = z.object({ [SORT_KEY]: z.string(), guid: z.string() });

const versionSchema = z.object({ version: count, updated_at: z.optional(z.string()) });

const cellReportSchema = z.object({
  [SORT_KEY]: z.string(),
  applied_version: count,
  applied_at: z.string(),
  // Absent on reports written before synced_at existed.
  synced_at: z.optional(z.string()),
  containers: z.optional(count),
  rules: z.optional(count),
  // Absent on reports of agents from before source shards.
  sources: z.optional(z.array(z.string())),
});

const snapshotPointerSchema = z.object({
  version: count,
  chunks: count,
  bytes: count,
  sha256: z.string(),
  written_at: z.string(),
  // Absent on pointers of the first layout.
  chunk_prefix: z.optional(z.string()),
  // Absent on pointers written before epochs.
  epoch: z.optional(z.string()),
  // Absent on pointers written before shards (source-shards.ts).
  shard_log: z.optional(z.array(count)),
  // Absent when the latest publish changed many shards, or everything.
  latest_changes: z.optional(z.array(z.string())),
  // Absent before the fan-out kept per-shard policy lists (shard-policies.ts), or while they are incomplete.
  policy_index: z.optional(z.boolean()),
});

const snapshotChunkSchema = z.object({ data: z.instanceof(Uint8Array) });

export interface StoredDestination {
  readonly destination: Destination;
  /** Policies using it; undefined on destinations written before the counter existed. */
  readonly refs: number | undefined;
  /** Policy creates and deletes on it so far; undefined before the first. */
  readonly refWrites: number | undefined;
}

export const decodeDestination = decoder(
  destinationSchema,
  ({ refs, ref_writes, ports, ...destination }): StoredDestination => ({
    destination: toDestination({ ...destination, ports: ports ?? [] }),
    refs,
    refWrites: ref_writes,
  }),
);

/** A DESTNAME guard: the name (its sort key) and the id of the destination holding it. */
export const decodeDestinationName = decoder(destinationNameSchema, (item) => ({ name: item[SORT_KEY], id: item.id }));

export const decodePolicy = decoder(
  policySchema,
  (item): PolicyItem => ({
    id: item.id,
    source_type: item.source_type,
    source_id: item.source_id,
    destination_id: item.destination_id,
    ...(item.app_lifecycle === undefined ? {} : { app_lifecycle: item.app_lifecycle }),
  }),
);

/** A DESTREF guard: its key (destination, source) and the policy it stands for. */
export const decodeDestinationRef = decoder(destinationRefSchema, (item) => ({
  key: { [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] } satisfies Key,
  policyId: item.policy_id,
}));

export interface StoredSecurityGroup {
  readonly group: SecurityGroup;
  /** The revision read, which the next write of the group must still find. */
  readonly revision: number;
}

export const decodeSecurityGroup = decoder(
  securityGroupSchema,
  (item): StoredSecurityGroup => ({ group: toSecurityGroup(item), revision: item.revision }),
);

/** An SGNAME guard: the name (its sort key) and the guid of the group holding it. */
export const decodeSecurityGroupName = decoder(securityGroupNameSchema, (item) => ({
  name: item[SORT_KEY],
  guid: item.guid,
}));

const decodeVersionItem = decoder(versionSchema, (item) => ({ version: item.version, updatedAt: item.updated_at }));

/** The version record; before the first write there is none, and the version is 0. */
export function decodeVersionRecord(item: Item | undefined): { version: number; updatedAt: string | undefined } {
  return item === undefined ? { version: 0, updatedAt: undefined } : decodeVersionItem(item);
}

export const decodeCellReport = decoder(
  cellReportSchema,
  (item): CellReport => ({
    name: item[SORT_KEY],
    appliedVersion: item.applied_version,
    appliedAt: item.applied_at,
    // Reports written before synced_at existed: their last sync is the one that applied.
    syncedAt: item.synced_at ?? item.applied_at,
    containers: item.containers ?? 0,
    rules: item.rules ?? 0,
    ...(item.sources === undefined ? {} : { sources: item.sources }),
  }),
);

export const decodeSnapshotPointer = decoder(
  snapshotPointerSchema,
  (item): SnapshotPointer => ({
    version: item.version,
    chunks: item.chunks,
    bytes: item.bytes,
    sha256: item.sha256,
    writtenAt: item.written_at,
    ...(item.chunk_prefix === undefined ? {} : { chunkPrefix: item.chunk_prefix }),
    ...(item.epoch === undefined ? {} : { epoch: item.epoch }),
    ...(item.shard_log === undefined ? {} : { shardLog: item.shard_log }),
    ...(item.latest_changes === undefined ? {} : { latestChanges: item.latest_changes }),
    ...(item.policy_index === true ? { policyIndex: true } : {}),
  }),
);

/** A snapshot chunk's bytes. */
export const decodeSnapshotChunk = decoder(snapshotChunkSchema, (item) => item.data);

const jobSchema = z.object({
  guid: z.string(),
  operation: z.string(),
  state: z.literal('COMPLETE'),
  created_at: z.string(),
});

/** A finished job; it is never changed, so it was last updated when it was created. */
export const decodeJob = decoder(
  jobSchema,
  (item): Job => ({
    guid: item.guid,
    operation: item.operation,
    state: item.state,
    createdAt: item.created_at,
    updatedAt: item.created_at,
  }),
);

/** Only the key, for reads that project nothing else. */
export const decodeKey = decoder(
  z.object(keyFields),
  (item): Key => ({ [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] }),
);

/** A decoder of stored items: the schema's value built into `T`, or an IntegrityError naming the item. */
export function decoder<S extends z.ZodMiniType, T>(schema: S, build: (value: z.output<S>) => T): (item: Item) => T {
  return (item) => {
    const result = schema.safeParse(item);
    if (result.success) return build(result.data);
    const [issue] = result.error.issues;
    throw new IntegrityError(
      keyOf(item),
      issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(item)',
      issue ? problemOf(issue) : 'invalid',
    );
  };
}

/** The key as stored; key attributes are strings in this table, but a decoder must not assume it. */
function keyOf(item: Item): { pk: string; sk: string } {
  const part = (value: unknown): string => (typeof value === 'string' ? value : '(missing)');
  return { pk: part(item[PARTITION_KEY]), sk: part(item[SORT_KEY]) };
}

/**
 * What is wrong, from the schema's side only: zod/mini has no message texts of its own (and when
 * classic zod is loaded too, they change), and the item's value must not reach a message.
 */
function problemOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `expected at least ${issue.minimum}`;
    case 'custom':
      return issue.message;
    default:
      return issue.code;
  }
}
