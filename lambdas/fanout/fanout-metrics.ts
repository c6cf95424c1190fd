// What the fan-out measures on each run: CloudWatch (EMF through Powertools) in Lambda
// (cloudwatch-metrics.ts), nothing in local mode, a fake in the unit tests. Kept free of Powertools
// so that local mode and the tests never load it.

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
  /** Live cells reporting an older version than the snapshot; only the scheduled republish looks. */
  readonly cellsBehind?: number;
}

export interface FanoutMetrics {
  record(run: FanoutRun): void;
}

/** Records nothing (local mode has no CloudWatch). */
export const noFanoutMetrics: FanoutMetrics = { record: () => undefined };
