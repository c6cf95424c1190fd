// Which stream records wake the fan-out: only changes of the version record, which every policy
// write moves exactly once. Snapshot, cell-report and per-item records are ignored, so one API
// write makes one record to handle, not one per item it touched.
import type { DynamoDBRecord } from 'aws-lambda';
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
