// The stream handler on in-memory stores: what it publishes, whom it tells, what it logs and measures.
import type { DynamoDBRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeSnapshot, type EncodedSnapshot } from '../../../core/domain/snapshot.js';
import type { SnapshotWriteOptions } from '../../../core/domain/snapshot-store.js';
import { jsonLineLog } from '../../../core/log.js';
import { createFanoutHandler, type FanoutHandler } from '../../../lambdas/fanout/fanout.js';
import type { FanoutRun } from '../../../lambdas/fanout/fanout-metrics.js';
import type { PolicySource } from '../../../lambdas/fanout/snapshot-publisher.js';
import { InMemorySnapshotStore } from '../../helpers/in-memory-snapshot-store.js';

function versionRecord(version: number): DynamoDBRecord {
  return {
    eventName: 'MODIFY',
    dynamodb: { Keys: { pk: { S: 'META' }, sk: { S: 'VERSION' } }, NewImage: { version: { N: String(version) } } },
  };
}

const itemRecord: DynamoDBRecord = { eventName: 'INSERT', dynamodb: { Keys: { pk: { S: 'DEST' }, sk: { S: 'x' } } } };

let version: number;
let snapshots: InMemorySnapshotStore;
let told: number[];
let failCommand: Error | undefined;
let failPublish: Error | undefined;
let runs: FanoutRun[];
let commandFailures: FanoutRun['trigger'][];
let lines: Record<string, unknown>[];
let handler: FanoutHandler;

beforeEach(() => {
  version = 3;
  snapshots = new InMemorySnapshotStore();
  told = [];
  failCommand = undefined;
  failPublish = undefined;
  runs = [];
  commandFailures = [];
  lines = [];
  const policies: PolicySource = {
    currentVersion: async () => {
      if (failPublish) throw failPublish;
      return version;
    },
    listEgressPolicies: async () => [],
    listSecurityGroups: async () => [],
  };
  handler = createFanoutHandler({
    policies,
    snapshots,
    commander: {
      syncCells: async (minVersion) => {
        if (failCommand) throw failCommand;
        told.push(minVersion);
      },
    },
    log: jsonLineLog({
      service: 'test',
      write: (line) => {
        const { timestamp: _timestamp, service: _service, ...entry } = JSON.parse(line);
        lines.push(entry);
      },
    }),
    metrics: { record: (run) => runs.push(run), commandFailed: (trigger) => commandFailures.push(trigger) },
  });
});

describe('fan-out stream handler', () => {
  it('publishes once, tells the cells once, logs and measures it, and answers nothing', async () => {
    expect(await handler({ Records: [versionRecord(2), itemRecord, versionRecord(3)] })).toBeUndefined();

    const pointer = await snapshots.readPointer();
    expect(pointer?.version).toBe(3);
    if (!pointer) throw new Error('no snapshot');
    expect(decodeSnapshot(await snapshots.readBytes(pointer), pointer.sha256).version).toBe(3);
    expect(told).toEqual([3]);
    expect(lines).toEqual([
      {
        level: 'INFO',
        message: 'cells told to converge',
        records: 3,
        newestVersion: 3,
        snapshotVersion: 3,
        snapshotWritten: true,
        published: 'whole',
        cellsTold: 'all',
        why: 'cells are not targeted',
      },
    ]);
    expect(runs).toEqual([{ trigger: 'stream', snapshotVersion: 3, snapshotPublished: true, cellsTold: true }]);
  });

  it('still tells the cells when the snapshot was already published (a repeated batch)', async () => {
    await handler({ Records: [versionRecord(3)] });
    await handler({ Records: [versionRecord(3)] });
    expect(snapshots.writes).toHaveLength(1);
    expect(told).toEqual([3, 3]);
    expect(runs.map((run) => run.snapshotPublished)).toEqual([true, false]);
  });

  it("tells the cells as soon as the pointer moved, before the store's clean-up is done, and once", async () => {
    let finishCleanUp = () => {};
    const cleanUp = new Promise<void>((resolve) => {
      finishCleanUp = resolve;
    });
    const slowCleanUp = Object.assign(new InMemorySnapshotStore(), {
      async write(snapshot: EncodedSnapshot, options: SnapshotWriteOptions = {}): Promise<boolean> {
        const written = await InMemorySnapshotStore.prototype.write.call(this, snapshot, options);
        await cleanUp;
        return written;
      },
    });
    const early: number[] = [];
    const handle = createFanoutHandler({
      policies: {
        currentVersion: async () => 4,
        listEgressPolicies: async () => [],
        listSecurityGroups: async () => [],
      },
      snapshots: slowCleanUp,
      commander: { syncCells: async (minVersion) => void early.push(minVersion) },
      log: jsonLineLog({ service: 'test', write: () => {} }),
      metrics: { record: () => {}, commandFailed: () => {} },
    })({ Records: [versionRecord(4)] });
    await expect.poll(() => early).toEqual([4]);
    finishCleanUp();
    await handle;
    expect(early).toEqual([4]);
  });

  it('does nothing for a batch without version records', async () => {
    expect(await handler({ Records: [itemRecord] })).toBeUndefined();
    expect(await snapshots.readPointer()).toBeUndefined();
    expect([told, runs, lines]).toEqual([[], [], []]);
  });

  it('logs the failure with its error and rethrows it, measuring only the failed command', async () => {
    failCommand = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    await expect(handler({ Records: [versionRecord(3)] })).rejects.toBe(failCommand);
    expect(lines).toEqual([
      {
        level: 'ERROR',
        message: 'fan-out failed; the batch will be retried',
        newestVersion: 3,
        error: { name: 'ThrottlingException', message: 'Rate exceeded', stack: failCommand.stack },
      },
    ]);
    expect(runs).toEqual([]);
    expect(commandFailures).toEqual(['stream']);
  });

  it('does not count a failed publish as a failed command', async () => {
    failPublish = new Error('table unreachable');
    await expect(handler({ Records: [versionRecord(3)] })).rejects.toThrow('table unreachable');
    expect(told).toEqual([]);
    expect(commandFailures).toEqual([]);
  });
});
