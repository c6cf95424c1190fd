// The scheduled republish: an EventBridge rule invokes the fan-out every few minutes. The stream
// mapping starts at LATEST and gives up on a batch after bounded retries, so a snapshot that failed
// to publish would otherwise stay stale until the next policy write. This run publishes it, and tells
// the cells when it did or when a cell's report is behind the snapshot (a lost or failed command);
// when all is current it costs three small reads and tells nobody.
import type { ScheduledEvent } from 'aws-lambda';
import { type CellRegistry, type CellReport, isBehind } from '../../core/domain/cells.js';
import type { SnapshotPointer, SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { Log } from '../../core/log.js';
import type { ShardSource } from '../../core/store/sharded-snapshot-store.js';
import type { CellCommander } from './cell-commander.js';
import { DEFAULT_MAX_TARGETED_CELLS } from './cell-targets.js';
import type { FanoutMetrics, LiveCells } from './fanout-metrics.js';
import { REPUBLISH_DEFAULTS } from './run-limits.js';
import { type PolicySource, publishSnapshot } from './snapshot-publisher.js';
import { tellCells } from './tell-cells.js';

export interface RepublishDependencies {
  readonly policies: PolicySource;
  /** With `readChanges` (source shards), a cell no change since its version concerned is not behind. */
  readonly snapshots: SnapshotStore & Partial<Pick<ShardSource, 'readChanges'>>;
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
  /**
   * Live cells told again: behind the snapshot once its command had its grace (they missed or failed
   * it). The CellsBehind metric also counts those still within the grace (LiveCells).
   */
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
 * The live cells among `reports` that still have to converge to `version`: with source shards, a
 * cell no publish since its version concerned is current (isBehind, core/domain/cells.ts). And
 * which of them were behind already before the latest publish (`missedEarlier`): their command, at
 * least, is not the one still running; without a change log, none is known to be.
 */
async function behindOf(
  deps: RepublishDependencies,
  reports: readonly CellReport[],
  version: number,
  pointer: SnapshotPointer | undefined,
): Promise<{ behind: CellReport[]; missedEarlier: (report: CellReport) => boolean }> {
  const log = pointer?.version === version ? pointer.shardLog : undefined;
  const readChanges = deps.snapshots.readChanges?.bind(deps.snapshots);
  if (log === undefined || readChanges === undefined) return { behind: [...reports], missedEarlier: () => false };
  const oldest = Math.min(...reports.map((report) => report.appliedVersion));
  const entries = await readChanges(log.filter((logged) => logged > oldest));
  // The publish before the latest one, and the log as it stood then.
  const earlier = log.filter((logged) => logged < version);
  const previous = earlier.length === 0 ? undefined : Math.max(...earlier);
  return {
    behind: reports.filter((report) => isBehind(report, version, log, entries)),
    missedEarlier: (report) => previous !== undefined && isBehind(report, previous, earlier, entries),
  };
}

/** What the live cells look like for the dashboard: how many, how many behind, how long since the quietest synced. */
function liveCellsOf(live: readonly CellReport[], behind: number, now: number): LiveCells {
  const oldest = Math.min(...live.map((report) => Date.parse(report.syncedAt)));
  return {
    reporting: live.length,
    behind,
    ...(live.length === 0 ? {} : { oldestSyncAgeSeconds: Math.max(0, Math.round((now - oldest) / 1000)) }),
  };
}

/**
 * Publishes the current snapshot if it is missing or stale, and tells the cells when it did or when
 * a live cell is behind it (its command was lost, or failed on it). Failures are logged and rethrown
 * so that they count in the Errors alarm.
 */
export function createRepublishHandler(deps: RepublishDependencies): RepublishHandler {
  return async (event) => {
    try {
      const published = await publishSnapshot(deps.policies, deps.snapshots);
      const reports = await deps.cells.list();
      const now = (deps.now ?? (() => new Date()))().getTime();
      const liveSince = now - (deps.liveCellWindowMs ?? REPUBLISH_DEFAULTS.liveCellWindowMs);
      const live = reports.filter((report) => Date.parse(report.syncedAt) >= liveSince);
      const older = live.filter((report) => report.appliedVersion < published.version);
      const pointer = older.length > 0 ? await deps.snapshots.readPointer() : undefined;
      const { behind: lagging, missedEarlier } =
        older.length === 0
          ? { behind: [], missedEarlier: () => false }
          : await behindOf(deps, older, published.version, pointer);
      let behind = lagging;
      // Cells are behind right after every publish while its command runs: not a lost command yet.
      // Only for the latest publish, though: a cell that missed an earlier one is told again, or a
      // table written more often than the grace would never re-tell a cell whose command was lost.
      if (behind.length > 0 && !published.written) {
        const publishedAt = pointer ? Date.parse(pointer.writtenAt) : Number.NaN;
        if (now - publishedAt < (deps.commandGraceMs ?? REPUBLISH_DEFAULTS.commandGraceMs)) {
          behind = behind.filter(missedEarlier);
        }
      }
      const cellsBehind = behind.length;
      // Written: the stream path had not published this version (failed, given up, or still running):
      // every cell is told. Behind: a command was lost or failed on those cells; they are told again.
      const cellsTold = published.written || cellsBehind > 0;
      if (published.written) await tellCells(deps, 'schedule', published.version);
      else if (cellsBehind > 0) {
        const tooMany = cellsBehind > DEFAULT_MAX_TARGETED_CELLS;
        const names = tooMany ? undefined : behind.map((report) => report.name);
        await tellCells(deps, 'schedule', published.version, names);
      }
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
        cells: liveCellsOf(live, lagging.length, now),
      });
      return result;
    } catch (error) {
      deps.log.error('scheduled republish failed', { scheduledAt: event.time, error });
      throw error;
    }
  };
}
