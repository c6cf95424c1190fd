// Which stream records wake the fan-out: only changes of the version record, which every policy
// write moves exactly once. Snapshot, cell-report and per-item records are ignored, so one API
// write makes one record to handle, not one per item it touched.
import type { DynamoDBRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import type { PolicyRef, VersionChanges } from '../../core/domain/version-changes.js';
import { META_PK } from '../../core/store/items.js';
import { PARTITION_KEY } from '../../core/store/table-definition.js';

/** The event-source mapping's FilterCriteria pattern (Lambda drops everything else before invoking). */
export const VERSION_RECORD_FILTER = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { Keys: { [PARTITION_KEY]: { S: [META_PK] } } },
} as const;

/** The same filter as a predicate, for local mode's stream reader and as a guard in the handler. */
export function isVersionRecord(record: DynamoDBRecord): boolean {
  return (
    (record.eventName === 'INSERT' || record.eventName === 'MODIFY') &&
    record.dynamodb?.Keys?.[PARTITION_KEY]?.S === META_PK
  );
}

/** The policy version a version record carries, or undefined. */
export function versionOf(record: DynamoDBRecord): number | undefined {
  const raw = record.dynamodb?.NewImage?.version?.N;
  const version = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(version) && version >= 0 ? version : undefined;
}

/** A string attribute, in the stream's wire format. */
const wireString = z.object({ S: z.string() });
const wireStrings = z.object({ L: z.array(wireString) });
const wirePolicy = z.object({
  M: z.object({
    id: wireString,
    source_type: z.object({ S: z.enum(['app', 'space', 'default']) }),
    source_id: wireString,
    destination_id: wireString,
    app_lifecycle: z.optional(z.object({ S: z.enum(['running', 'staging']) })),
  }),
});
const wireChanges = z.object({
  M: z.object({
    added: z.object({ L: z.array(wirePolicy) }),
    removed: z.object({ L: z.array(wirePolicy) }),
    keys: wireStrings,
  }),
});

function policyOf({ M: policy }: z.output<typeof wirePolicy>): PolicyRef {
  return {
    id: policy.id.S,
    source_type: policy.source_type.S,
    source_id: policy.source_id.S,
    destination_id: policy.destination_id.S,
    ...(policy.app_lifecycle === undefined ? {} : { app_lifecycle: policy.app_lifecycle.S }),
  };
}

/**
 * What the write of a version record changed (version-changes.ts), or undefined when the record
 * does not say (an older writer, a change too large to describe) or says it in a shape not known:
 * the fan-out then reads the whole state, as it always could.
 */
export function changesOf(record: DynamoDBRecord): VersionChanges | undefined {
  const parsed = wireChanges.safeParse(record.dynamodb?.NewImage?.changes);
  if (!parsed.success) return undefined;
  const { added, removed, keys } = parsed.data.M;
  return { added: added.L.map(policyOf), removed: removed.L.map(policyOf), keys: keys.L.map(({ S }) => S) };
}
