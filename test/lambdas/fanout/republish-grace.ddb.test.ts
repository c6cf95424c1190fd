// The scheduled republish's grace, with source shards on DynamoDB Local and SSM mocked: a cell behind
// only the latest publish is left to that publish's own command for the grace, but a cell whose
// command for an earlier publish was lost (a revocation) is told again at the next run, even on a
// table written more often than the grace (which used to keep it waiting for the association).
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFanoutHandler } from '../../../lambdas/fanout/fanout.js';
import { createRepublishHandler } from '../../../lambdas/fanout/republish.js';
import { SCHEDULED_EVENT, tcpDestination } from '../../helpers/fixtures.js';
import { reportCell, shardedFanout } from '../../helpers/sharded-fanout.js';

const ssm = mockClient(SSMClient);
beforeEach(() => {
  ssm.reset();
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'c' } });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
});
afterEach(() => vi.useRealTimers());
const advance = (minutes: number) => vi.setSystemTime(new Date(Date.now() + minutes * 60_000));

async function setUp() {
  // The stack's defaults: a live window of two resync intervals, a grace of 5 minutes.
  const { table, policies, cells, deps } = await shardedFanout({ commandGraceMs: 300_000 });
  const fanout = createFanoutHandler(deps);
  const republish = createRepublishHandler(deps);
  /** The version record as the stream carries it. */
  const record = async (): Promise<DynamoDBRecord> => {
    const { Item } = await table.client.send(
      new GetItemCommand({
        TableName: table.tableName,
        Key: { pk: { S: 'META' }, sk: { S: 'VERSION' } },
        ConsistentRead: true,
      }),
    );
    return JSON.parse(
      JSON.stringify({
        eventName: 'MODIFY',
        dynamodb: { Keys: { pk: { S: 'META' }, sk: { S: 'VERSION' } }, NewImage: Item, SequenceNumber: '1' },
      }),
    );
  };
  const told = () =>
    ssm.commandCalls(SendCommandCommand).flatMap((call) => call.args[0].input.InstanceIds ?? ['(every cell)']);
  return {
    policies,
    stream: async () => {
      ssm.resetHistory();
      await fanout({ Records: [await record()] });
      return told();
    },
    republish: async () => {
      ssm.resetHistory();
      await republish(SCHEDULED_EVENT);
      return told();
    },
    report: async (name: string, source: string) =>
      reportCell(cells, name, await policies.currentVersion(), new Date().toISOString(), [source, 'global']),
  };
}

/** A policy of `app` to a new destination; the change is published and its cells told. */
async function allow(t: Awaited<ReturnType<typeof setUp>>, app: string, name: string) {
  const [destination] = await t.policies.createDestinations([tcpDestination(name)]);
  if (destination === undefined) throw new Error('no destination');
  await t.policies.createEgressPolicies([{ source: { type: 'app', id: app }, destination: { id: destination.id } }]);
  return t.stream();
}

describe('scheduled republish grace', () => {
  it('tells a cell whose revocation command was lost again at the next run, on a table written every 4 minutes', async () => {
    const t = await setUp();
    await allow(t, 'app-x', 'db');
    await t.report('i-x', 'app:app-x');
    await t.report('i-y', 'app:app-y');
    advance(1);
    // The revocation: its command to i-x is lost (i-x never syncs).
    const [policy] = await t.policies.listEgressPolicies();
    if (policy === undefined) throw new Error('no policy');
    await t.policies.deleteEgressPolicy(policy.id);
    expect(await t.stream()).toEqual(['i-x']);
    // Another app's writes every 4 minutes, each published less than the grace before the runs.
    const retold: number[] = [];
    for (let minute = 1; minute <= 15; minute += 1) {
      advance(1);
      if (minute % 4 === 0) {
        expect(await allow(t, 'app-y', `y-${minute}`)).toEqual(['i-y']);
        await t.report('i-y', 'app:app-y');
      }
      if (minute % 5 === 0 && (await t.republish()).includes('i-x')) retold.push(minute);
    }
    expect(retold).toEqual([5, 10, 15]);
  });

  it('leaves a cell behind only the latest publish to its own command for the grace', async () => {
    const t = await setUp();
    await allow(t, 'app-x', 'db');
    await t.report('i-x', 'app:app-x');
    advance(1);
    expect(await allow(t, 'app-x', 'db-2')).toEqual(['i-x']);
    advance(2);
    expect(await t.republish()).toEqual([]);
    advance(4);
    expect(await t.republish()).toEqual(['i-x']);
  });
});
