// The fan-out: a batch of stream records in, at most one snapshot and one command to the cells out.
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { Log } from '../../core/log.js';
import type { CellCommander } from './cell-commander.js';
import type { FanoutMetrics } from './fanout-metrics.js';
import { type PolicySource, publishSnapshot } from './snapshot-publisher.js';
import { isVersionRecord, versionOf } from './stream-filter.js';

export interface FanoutDependencies {
  readonly policies: PolicySource;
  readonly snapshots: SnapshotStore;
  readonly commander: CellCommander;
  readonly log: Log;
  readonly metrics: FanoutMetrics;
}

/**
 * Resolves when the batch is handled and rejects when it must be retried. It reports no item
 * failures: the mapping does not ask for them, since the batch is one unit of work.
 */
export type FanoutHandler = (event: DynamoDBStreamEvent) => Promise<void>;

/**
 * Coalesces the batch: however many versions it holds, the cells are told once, to converge to the
 * newest. On failure it logs and rethrows: the invocation counts in Lambda's Errors metric (the
 * FanoutErrors alarm), and the event-source mapping retries the whole batch, bisects it, and finally
 * hands it to the on-failure queue.
 */
export function createFanoutHandler(deps: FanoutDependencies): FanoutHandler {
  return async (event) => {
    const records = event.Records ?? [];
    const versions = records.filter(isVersionRecord).flatMap((record) => versionOf(record) ?? []);
    if (versions.length === 0) return;
    const newest = Math.max(...versions);
    try {
      const published = await publishSnapshot(deps.policies, deps.snapshots);
      await deps.commander.syncCells(published.version);
      deps.log.info('cells told to converge', {
        records: records.length,
        newestVersion: newest,
        snapshotVersion: published.version,
        snapshotWritten: published.written,
      });
      deps.metrics.record({
        trigger: 'stream',
        snapshotVersion: published.version,
        snapshotPublished: published.written,
        cellsTold: true,
      });
    } catch (error) {
      deps.log.error('fan-out failed; the batch will be retried', { newestVersion: newest, error });
      // Throwing, not reporting item failures: a failure reported in the response would count as a
      // successful invocation and hide it from the Errors alarm.
      throw error;
    }
  };
}
