// The scheduled republish: an EventBridge rule invokes the fan-out every few minutes. The stream
// mapping starts at LATEST and gives up on a batch after bounded retries, so a snapshot that failed
// to publish would otherwise stay stale until the next policy write. This run publishes it, and tells
// the cells when it did or when a cell's report is behind the snapshot (a lost or failed command);
// when all is current it costs three small reads and tells nobody.
import type { ScheduledEvent } from 'aws-lambda';
import type { CellRegistry } from '../../core/domain/cells.js';
import type { SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { Log } from '../../core/log.js';
import type { CellCommander } from './cell-commander.js';
import type { FanoutMetrics } from './fanout-metrics.js';
import { REPUBLISH_DEFAULTS } from './run-limits.js';
import { type PolicySource, publishSnapshot } from './snapshot-publisher.js';

export interface RepublishDependencies {
  readonly policies: PolicySource;
  readonly snapshots: SnapshotStore;
  readonly commander: CellCommander;
  /** Cells' reports: a cell that reported an older version than the snapshot is told again. */
  readonly cells: Pick<CellRegistry, 'list'>;
  /** @default REPUBLISH_DEFAULTS.liveCellWindowMs */
  readonly liveCellWindowMs?: number;
  /** @default REPUBLISH_DEFAULTS.commandGraceMs */
  readonly commandGraceMs?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly log: Log;
  readonly metrics: FanoutMetrics;
}

export interface RepublishResult {
  /** The version now current for cells. */
  readonly version: number;
  /** True when this run wrote the snapshot (it was missing or stale). */
  readonly written: boolean;
  /** Cells whose last report is older than the snapshot (they missed or failed a command). */
  readonly cellsBehind: number;
  /** True when the cells were told to converge: a snapshot was written or a cell is behind. */
  readonly cellsTold: boolean;
}

export type RepublishHandler = (event: ScheduledEvent) => Promise<RepublishResult>;

/** EventBridge's scheduled event (`rate(...)`/`cron(...)` rules with the default input). */
export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  return (
    typeof event === 'object' &&
    event !== null &&
    'source' in event &&
    event.source === 'aws.events' &&
    'detail-type' in event &&
    event['detail-type'] === 'Scheduled Event'
  );
}

/**
 * Publishes the current snapshot if it is missing or stale, and tells the cells when it did or when
 * a live cell reports an older version (its command was lost, or failed on it). Failures are logged
 * and rethrown so that they count in the Errors alarm.
 */
export function createRepublishHandler(deps: RepublishDependencies): RepublishHandler {
  return async (event) => {
    try {
      const published = await publishSnapshot(deps.policies, deps.snapshots);
      const reports = await deps.cells.list();
      const now = (deps.now ?? (() => new Date()))().getTime();
      const liveSince = now - (deps.liveCellWindowMs ?? REPUBLISH_DEFAULTS.liveCellWindowMs);
      let cellsBehind = reports.filter(
        (report) => report.appliedVersion < published.version && Date.parse(report.syncedAt) >= liveSince,
      ).length;
      // Cells are behind right after every publish while its command runs: not a lost command yet.
      if (cellsBehind > 0 && !published.written) {
        const pointer = await deps.snapshots.readPointer();
        const publishedAt = pointer ? Date.parse(pointer.writtenAt) : Number.NaN;
        if (now - publishedAt < (deps.commandGraceMs ?? REPUBLISH_DEFAULTS.commandGraceMs)) cellsBehind = 0;
      }
      // Written: the stream path had not published this version (failed, given up, or still running).
      // Behind: a command was lost or failed on some cells; telling every cell again is harmless.
      const cellsTold = published.written || cellsBehind > 0;
      if (cellsTold) await deps.commander.syncCells(published.version);
      const result = { version: published.version, written: published.written, cellsBehind, cellsTold };
      deps.log.info(
        cellsTold
          ? 'scheduled republish told the cells to converge'
          : 'scheduled republish: snapshot current, every reporting cell up to date',
        { scheduledAt: event.time, ...result },
      );
      deps.metrics.record({
        trigger: 'schedule',
        snapshotVersion: published.version,
        snapshotPublished: published.written,
        cellsTold,
        cellsBehind,
      });
      return result;
    } catch (error) {
      deps.log.error('scheduled republish failed', { scheduledAt: event.time, error });
      throw error;
    }
  };
}
