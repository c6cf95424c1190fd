// Only the cells hosting a changed source are told (source shards on DynamoDB Local, the cells'
// real reports, SSM mocked): by instance id, in calls of at most 50, and by the tag whenever the
// fan-out cannot tell who hosts the change.
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createFanoutHandler } from '../../../lambdas/fanout/fanout.js';
import type { FanoutRun } from '../../../lambdas/fanout/fanout-metrics.js';
import { createRepublishHandler } from '../../../lambdas/fanout/republish.js';
import { SCHEDULED_EVENT, tcpDestination } from '../../helpers/fixtures.js';
import { reportCell, shardedFanout } from '../../helpers/sharded-fanout.js';

const ssm = mockClient(SSMClient);
// A minute ahead of the clock: the pointer's written_at (real time) is then past the command grace.
const NOW = new Date(Date.now() + 60_000);

beforeEach(() => {
  ssm.reset();
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'c' } });
});

function versionRecord(version: number): DynamoDBRecord {
  return {
    eventName: 'MODIFY',
    dynamodb: {
      Keys: { pk: { S: 'META' }, sk: { S: 'VERSION' } },
      NewImage: { pk: { S: 'META' }, sk: { S: 'VERSION' }, version: { N: String(version) } },
      SequenceNumber: String(version),
    },
  };
}

async function setUp() {
  const runs: FanoutRun[] = [];
  const { policies, cells, deps } = await shardedFanout({
    // Past the command grace of the latest publish (the pointer was written "now", in real time).
    commandGraceMs: 0,
    now: () => NOW,
    metrics: { record: (run: FanoutRun) => runs.push(run), commandFailed: () => undefined },
  });
  const handler = createFanoutHandler(deps);
  const republish = createRepublishHandler(deps);
  const report = (name: string, sources?: string[], syncedAt = NOW.toISOString(), appliedVersion = 1) =>
    reportCell(cells, name, appliedVersion, syncedAt, sources);
  /** Adds a policy for `app` and runs the fan-out on its version; returns what SendCommand got. */
  const change = async (app: string) => {
    const [destination] = await policies.createDestinations([tcpDestination(`to-${app}-${Math.random()}`)]);
    await policies.createEgressPolicies([
      { source: { type: 'app', id: app }, destination: { id: destination?.id ?? '' } },
    ]);
    ssm.resetHistory();
    await handler({ Records: [versionRecord(await policies.currentVersion())] });
    return ssm.commandCalls(SendCommandCommand).map((call) => {
      const { InstanceIds, Targets } = call.args[0].input;
      return InstanceIds ?? Targets;
    });
  };
  const sentBy = async (run: () => Promise<unknown>) => {
    ssm.resetHistory();
    await run();
    return ssm
      .commandCalls(SendCommandCommand)
      .map((call) => call.args[0].input.InstanceIds ?? call.args[0].input.Targets);
  };
  const version = () => policies.currentVersion();
  return { report, change, republish: () => sentBy(() => republish(SCHEDULED_EVENT)), version, runs };
}

describe('fan-out targeting', () => {
  it('tells exactly the live cells that host the changed app', async () => {
    const { report, change } = await setUp();
    // The first sharded publish logs `all`: everyone.
    expect(await change('app-0')).toEqual([[{ Key: 'tag:egress:cell', Values: ['true'] }]]);
    await report('i-b', ['app:app-1', 'global', 'space:s']);
    await report('i-a', ['app:app-1', 'app:app-2', 'global']);
    await report('i-c', ['app:app-3', 'global']);
    // A cell gone quiet (last heard from two hours ago) is left to the periodic sync.
    await report('i-gone', ['app:app-1'], new Date(NOW.getTime() - 7_200_000).toISOString());
    expect(await change('app-1')).toEqual([['i-a', 'i-b']]);
    expect(await change('app-3')).toEqual([['i-c']]);
    // Nobody hosts it: nobody is told.
    expect(await change('app-9')).toEqual([]);
  });

  it('falls back to the tag when a live cell does not report its sources', async () => {
    const { report, change } = await setUp();
    await change('app-0');
    await report('i-new', ['app:app-1', 'global']);
    await report('i-old-agent');
    expect(await change('app-1')).toEqual([[{ Key: 'tag:egress:cell', Values: ['true'] }]]);
  });

  it('sends 50 instance ids per call', async () => {
    const { report, change } = await setUp();
    await change('app-0');
    const names = Array.from({ length: 120 }, (_, index) => `i-${String(index).padStart(3, '0')}`);
    for (const name of names) await report(name, ['app:busy', 'global']);
    const calls = await change('busy');
    expect(calls.map((ids) => ids?.length)).toEqual([50, 50, 20]);
    expect(calls.flat()).toEqual(names);
  });

  it('counts as behind, and tells again, only the cells a change since their version concerned', async () => {
    const { report, change, republish, version, runs } = await setUp();
    await change('app-0');
    const base = await version();
    await report('i-x', ['app:app-1', 'global'], NOW.toISOString(), base);
    await report('i-y', ['app:app-2', 'global'], NOW.toISOString(), base);
    await change('app-1');
    // Only i-x was told; i-y reports an older version but nothing it hosts changed.
    expect(await republish()).toEqual([['i-x']]);
    // CellsBehind counts the same way (GET /cells's lag): i-y is not behind.
    expect(runs.at(-1)?.cells).toEqual({ reporting: 2, behind: 1, oldestSyncAgeSeconds: 0 });
    await report('i-x', ['app:app-1', 'global'], NOW.toISOString(), await version());
    expect(await republish()).toEqual([]);
    expect(runs.at(-1)?.cells).toEqual({ reporting: 2, behind: 0, oldestSyncAgeSeconds: 0 });
  });
});
