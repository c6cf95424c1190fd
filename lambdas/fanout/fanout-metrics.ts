// What the fan-out measures on each run: CloudWatch (EMF through Powertools) in Lambda
// (cloudwatch-metrics.ts), nothing in local mode, a fake in the unit tests. Kept free of Powertools
// so that local mode and the tests never load it.

/** The metrics' names in CloudWatch (namespace METRICS_NAMESPACE, shared/service-names.ts); the stack's dashboard shows them. */
export const FANOUT_METRIC_NAMES = {
  snapshotPublished: 'SnapshotPublished',
  snapshotVersion: 'SnapshotVersion',
  cellsTold: 'CellsTold',
  cellsReporting: 'CellsReporting',
  cellsBehind: 'CellsBehind',
  oldestCellSyncAge: 'OldestCellSyncAgeSeconds',
  sendCommandFailures: 'SendCommandFailures',
} as const;

/** The dimension telling the two event sources apart: `stream` or `schedule` (FanoutRun.trigger). */
export const TRIGGER_DIMENSION = 'Trigger';

/** What one stream batch or one scheduled republish did. */
export interface FanoutRun {
  /** Which event source invoked the fan-out. */
  readonly trigger: 'stream' | 'schedule';
  /** The snapshot version now current for cells. */
  readonly snapshotVersion: number;
  /** True when this run wrote the snapshot (from the schedule: the stream path had not). */
  readonly snapshotPublished: boolean;
  /** True when this run told the cells to converge. */
  readonly cellsTold: boolean;
  /** The live cells' state; only the scheduled republish reads the reports. */
  readonly cells?: LiveCells;
}

/**
 * The cells that reported within the live-cell window (a terminated instance's report stays in the
 * table forever; counting it would keep these numbers up for good), as the scheduled republish saw them.
 */
export interface LiveCells {
  readonly reporting: number;
  /**
   * Those behind the snapshot's version as GET /cells counts them (isBehind, core/domain/cells.ts),
   * including cells whose command is still within its grace, which the run does not tell again.
   */
  readonly behind: number;
  /** Seconds since the oldest `synced_at` among them; absent when none reported. */
  readonly oldestSyncAgeSeconds?: number;
}

export interface FanoutMetrics {
  record(run: FanoutRun): void;
  /** The run could not tell the cells: the commander failed (tell-cells.ts); the run fails too. */
  commandFailed(trigger: FanoutRun['trigger']): void;
}

/** Records nothing (local mode has no CloudWatch). */
export const noFanoutMetrics: FanoutMetrics = { record: () => undefined, commandFailed: () => undefined };
