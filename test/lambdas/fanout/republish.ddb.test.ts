// The scheduled republish with a real store on DynamoDB Local and SSM mocked: it publishes a missing
// or stale snapshot and then tells the cells, does nothing but read when the snapshot is current,
// and fails the invocation (logged) when it cannot do its job.
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jsonLineLog } from '../../../core/log.js';
import { DynamoDbCellStatusStore } from '../../../core/store/cell-status-store.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import type { FanoutRun } from '../../../lambdas/fanout/fanout-metrics.js';
import { createRepublishHandler, type RepublishHandler } from '../../../lambdas/fanout/republish.js';
import { SsmCommander } from '../../../lambdas/fanout/ssm-commander.js';
import { createTestTable } from '../../helpers/ddb.js';
import { SCHEDULED_EVENT, tcpDestination } from '../../helpers/fixtures.js';
import { publishedState } from '../../helpers/published-state.js';

const ssm = mockClient(SSMClient);
let policies: DynamoDbPolicyStore;
let snapshots: DynamoDbSnapshotStore;
let republish: RepublishHandler;
let cells: DynamoDbCellStatusStore;
/** The scheduled run's clock: half an hour after the snapshots these tests publish. */
const NOW = new Date(Date.now() + 30 * 60_000);
let clock = NOW;
const logs: Record<string, unknown>[] = [];
const runs: FanoutRun[] = [];
const commandFailures: FanoutRun['trigger'][] = [];

beforeAll(async () => {
  const table = await createTestTable();
  const documents = documentClient(table.client);
  policies = new DynamoDbPolicyStore({ client: documents, tableName: table.tableName });
  snapshots = new DynamoDbSnapshotStore(documents, table.tableName);
  cells = new DynamoDbCellStatusStore(documents, table.tableName);
  const commander = new SsmCommander({
    client: new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    documentName: 'egress-sync',
    tagKey: 'egress:cell',
    tagValue: 'true',
    maxAttempts: 1,
  });
  republish = createRepublishHandler({
    policies: publishedState(policies, documents, table.tableName),
    snapshots,
    commander,
    cells,
    now: () => clock,
    log: jsonLineLog({ service: 'test', write: (line) => logs.push(JSON.parse(line)) }),
    metrics: { record: (run) => runs.push(run), commandFailed: (trigger) => commandFailures.push(trigger) },
  });
});

beforeEach(() => {
  ssm.reset();
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-1' } });
  logs.length = 0;
  runs.length = 0;
  commandFailures.length = 0;
});

describe('scheduled republish', () => {
  it('publishes a stale snapshot (the stream path lost it) and tells every cell', async () => {
    const [db] = await policies.createDestinations([tcpDestination('republish-db')]);
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'app-1' }, destination: { id: db?.id ?? '' } }]);
    const version = await policies.currentVersion();
    expect((await snapshots.readPointer())?.version).toBeUndefined();

    expect(await republish(SCHEDULED_EVENT)).toEqual({ version, written: true, cellsBehind: 0, cellsTold: true });

    expect((await snapshots.readPointer())?.version).toBe(version);
    const calls = ssm.commandCalls(SendCommandCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      DocumentName: 'egress-sync',
      Targets: [{ Key: 'tag:egress:cell', Values: ['true'] }],
      Parameters: { MinVersion: [String(version)] },
      MaxErrors: '100%',
    });
    expect(logs.at(-1)).toMatchObject({ level: 'INFO', written: true, scheduledAt: SCHEDULED_EVENT.time });
    expect(runs).toEqual([
      {
        trigger: 'schedule',
        snapshotVersion: version,
        snapshotPublished: true,
        cellsTold: true,
        cells: { reporting: 0, behind: 0 },
      },
    ]);
  });

  it('only reads when the snapshot is current: no write, no command', async () => {
    const version = await policies.currentVersion();
    const before = await snapshots.readPointer();
    expect(await republish(SCHEDULED_EVENT)).toEqual({ version, written: false, cellsBehind: 0, cellsTold: false });
    expect(await snapshots.readPointer()).toEqual(before);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(runs).toEqual([
      {
        trigger: 'schedule',
        snapshotVersion: version,
        snapshotPublished: false,
        cellsTold: false,
        cells: { reporting: 0, behind: 0 },
      },
    ]);
  });

  it('tells the cells again when a live cell reports an older version; dead cells are ignored', async () => {
    const version = await policies.currentVersion();
    const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();
    const report = (name: string, appliedVersion: number, syncedAt: string) =>
      cells.record({ name, appliedVersion, appliedAt: syncedAt, syncedAt, containers: 1, rules: 4 });
    await report('i-current', version, minutesAgo(1));
    // Terminated two hours ago, still behind: its report stays, but it must not cause a command every run.
    await report('i-terminated', version - 1, minutesAgo(120));
    expect(await republish(SCHEDULED_EVENT)).toMatchObject({ written: false, cellsBehind: 0, cellsTold: false });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    // The dashboard's cell metrics count live cells only: the terminated one is neither reporting nor behind.
    expect(runs.at(-1)?.cells).toEqual({ reporting: 1, behind: 0, oldestSyncAgeSeconds: 60 });

    // Its command was lost: a live cell still on the previous version.
    await report('i-missed', version - 1, minutesAgo(10));
    expect(await republish(SCHEDULED_EVENT)).toEqual({ version, written: false, cellsBehind: 1, cellsTold: true });
    expect(runs.at(-1)).toEqual({
      trigger: 'schedule',
      snapshotVersion: version,
      snapshotPublished: false,
      cellsTold: true,
      cells: { reporting: 2, behind: 1, oldestSyncAgeSeconds: 600 },
    });
    const calls = ssm.commandCalls(SendCommandCommand);
    expect(calls.map((call) => call.args[0].input.Parameters?.MinVersion)).toEqual([[String(version)]]);

    // Right after a publish its own command is still running on the cells: that is not a lost command.
    const published = Date.parse((await snapshots.readPointer())?.writtenAt ?? '');
    clock = new Date(published + 60_000);
    try {
      expect(await republish(SCHEDULED_EVENT)).toMatchObject({ cellsBehind: 0, cellsTold: false });
      // Not told again, but behind all the same, as GET /cells shows it (its reports are from the
      // test's future, so no age).
      expect(runs.at(-1)?.cells).toEqual({ reporting: 2, behind: 1, oldestSyncAgeSeconds: 0 });
    } finally {
      clock = NOW;
    }
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it('logs and fails the invocation when the cells cannot be told, so the Errors alarm sees it', async () => {
    await policies.createDestinations([tcpDestination('republish-db-2')]);
    ssm.on(SendCommandCommand).rejects(Object.assign(new Error('no such document'), { name: 'InvalidDocument' }));
    await expect(republish(SCHEDULED_EVENT)).rejects.toThrow('no such document');
    expect(logs.at(-1)).toMatchObject({
      level: 'ERROR',
      message: 'scheduled republish failed',
      error: { name: 'InvalidDocument', message: 'no such document' },
    });
    expect(runs).toEqual([]);
    expect(commandFailures).toEqual(['schedule']);
  });
});
