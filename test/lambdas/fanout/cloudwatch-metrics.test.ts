// The fan-out's metrics as Powertools writes them (CloudWatch embedded metric format).
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { cloudWatchFanoutMetrics } from '../../../lambdas/fanout/cloudwatch-metrics.js';

function emf(record: (metrics: Metrics) => void) {
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'fanout-test' });
  record(metrics);
  const output = metrics.serializeMetrics();
  const directive = output._aws.CloudWatchMetrics[0];
  return {
    names: directive?.Metrics.map((metric) => [metric.Name, metric.Unit]),
    dimensions: directive?.Dimensions,
    values: Object.fromEntries(Object.entries(output).filter(([key]) => key !== '_aws')),
  };
}

describe('cloudWatchFanoutMetrics', () => {
  it('records a stream run: published, version, told; no CellsBehind; dimension Trigger', () => {
    const { names, dimensions, values } = emf((metrics) =>
      cloudWatchFanoutMetrics(metrics).record({
        trigger: 'stream',
        snapshotVersion: 42,
        snapshotPublished: true,
        cellsTold: true,
      }),
    );
    expect(names).toEqual([
      ['SnapshotPublished', 'Count'],
      ['SnapshotVersion', 'None'],
      ['CellsTold', 'Count'],
    ]);
    expect(dimensions).toEqual([['service', 'Trigger']]);
    expect(values).toEqual({
      service: 'fanout-test',
      Trigger: 'stream',
      SnapshotPublished: 1,
      SnapshotVersion: 42,
      CellsTold: 1,
    });
  });

  it('records a scheduled run with the live cells, and zeros for what it did not do', () => {
    const { names, values } = emf((metrics) =>
      cloudWatchFanoutMetrics(metrics).record({
        trigger: 'schedule',
        snapshotVersion: 42,
        snapshotPublished: false,
        cellsTold: false,
        cells: { reporting: 3, behind: 1, oldestSyncAgeSeconds: 1250 },
      }),
    );
    expect(names).toEqual([
      ['SnapshotPublished', 'Count'],
      ['SnapshotVersion', 'None'],
      ['CellsTold', 'Count'],
      ['CellsReporting', 'Count'],
      ['CellsBehind', 'Count'],
      ['OldestCellSyncAgeSeconds', 'Seconds'],
    ]);
    expect(values).toEqual({
      service: 'fanout-test',
      Trigger: 'schedule',
      SnapshotPublished: 0,
      SnapshotVersion: 42,
      CellsTold: 0,
      CellsReporting: 3,
      CellsBehind: 1,
      OldestCellSyncAgeSeconds: 1250,
    });
  });

  it('counts a failed SendCommand under its trigger', () => {
    const { names, dimensions, values } = emf((metrics) => cloudWatchFanoutMetrics(metrics).commandFailed('schedule'));
    expect(names).toEqual([['SendCommandFailures', 'Count']]);
    expect(dimensions).toEqual([['service', 'Trigger']]);
    expect(values).toEqual({ service: 'fanout-test', Trigger: 'schedule', SendCommandFailures: 1 });
  });

  it('writes no sync age when no cell reported (there is no oldest)', () => {
    const { values } = emf((metrics) =>
      cloudWatchFanoutMetrics(metrics).record({
        trigger: 'schedule',
        snapshotVersion: 42,
        snapshotPublished: false,
        cellsTold: false,
        cells: { reporting: 0, behind: 0 },
      }),
    );
    expect(values).toMatchObject({ CellsReporting: 0, CellsBehind: 0 });
    expect(values).not.toHaveProperty('OldestCellSyncAgeSeconds');
  });
});
