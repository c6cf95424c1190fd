// The fan-out's metrics in CloudWatch, through Powertools' embedded metric format: buffered during
// the invocation, written as one log line when the Lambda entry publishes them.
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FANOUT_METRIC_NAMES, type FanoutMetrics, TRIGGER_DIMENSION } from './fanout-metrics.js';

export function cloudWatchFanoutMetrics(metrics: Metrics): FanoutMetrics {
  return {
    record: (run) => {
      // A scheduled run that publishes means the stream path did not: worth telling apart.
      metrics.addDimension(TRIGGER_DIMENSION, run.trigger);
      metrics.addMetric(FANOUT_METRIC_NAMES.snapshotPublished, MetricUnit.Count, run.snapshotPublished ? 1 : 0);
      metrics.addMetric(FANOUT_METRIC_NAMES.snapshotVersion, MetricUnit.NoUnit, run.snapshotVersion);
      metrics.addMetric(FANOUT_METRIC_NAMES.cellsTold, MetricUnit.Count, run.cellsTold ? 1 : 0);
      const { cells } = run;
      if (cells !== undefined) {
        metrics.addMetric(FANOUT_METRIC_NAMES.cellsReporting, MetricUnit.Count, cells.reporting);
        metrics.addMetric(FANOUT_METRIC_NAMES.cellsBehind, MetricUnit.Count, cells.behind);
        if (cells.oldestSyncAgeSeconds !== undefined) {
          metrics.addMetric(FANOUT_METRIC_NAMES.oldestCellSyncAge, MetricUnit.Seconds, cells.oldestSyncAgeSeconds);
        }
      }
    },
    commandFailed: (trigger) => {
      metrics.addDimension(TRIGGER_DIMENSION, trigger);
      metrics.addMetric(FANOUT_METRIC_NAMES.sendCommandFailures, MetricUnit.Count, 1);
    },
  };
}
