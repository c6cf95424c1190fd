// The fan-out: a batch of stream records in, at most one snapshot and one command to the cells out.
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { PolicyStore } from '../../core/domain/store.js';
import type { CellCommander } from './cell-commander.js';
import { publishSnapshot } from './snapshot-publisher.js';
import { isVersionRecord, versionOf } from './stream-filter.js';

export interface FanoutDependencies {
  readonly policies: PolicyStore;
  readonly snapshots: SnapshotStore;
  readonly commander: CellCommander;
  readonly log?: (entry: Record<string, unknown>) => void;
}

export type FanoutHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export const jsonLog = (entry: Record<string, unknown>): void => console.log(JSON.stringify(entry));

/**
 * Coalesces the batch: however many versions it holds, the cells are told once, to converge to the
 * newest. On failure it logs and rethrows: the invocation counts in Lambda's Errors metric (the
 * FanoutErrors alarm), and the event-source mapping retries the whole batch (the work is one unit),
 * bisects it, and finally hands it to the on-failure queue.
 */
export function createFanoutHandler(deps: FanoutDependencies): FanoutHandler {
  const log = deps.log ?? jsonLog;
  return async (event) => {
    const records = event.Records ?? [];
    const versions = records.filter(isVersionRecord).flatMap((record) => versionOf(record) ?? []);
    if (versions.length === 0) return { batchItemFailures: [] };
    const newest = Math.max(...versions);
    try {
      const published = await publishSnapshot(deps.policies, deps.snapshots);
      await deps.commander.syncCells(published.version);
      log({
        level: 'INFO',
        message: 'cells told to converge',
        records: records.length,
        newestVersion: newest,
        snapshotVersion: published.version,
        snapshotWritten: published.written,
      });
      return { batchItemFailures: [] };
    } catch (error) {
      log({
        level: 'ERROR',
        message: 'fan-out failed; the batch will be retried',
        newestVersion: newest,
        error: errorText(error),
      });
      // Returning batchItemFailures would count as a successful invocation and hide the failure
      // from the Errors alarm; a thrown error is retried the same way and is counted.
      throw error;
    }
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
