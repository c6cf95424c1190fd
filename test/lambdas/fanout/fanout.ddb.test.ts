// The fan-out with a real store on DynamoDB Local and SSM mocked (it cannot run here).
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import { jsonLineLog } from '../../../core/log.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { createFanoutHandler, type FanoutHandler } from '../../../lambdas/fanout/fanout.js';
import { noFanoutMetrics } from '../../../lambdas/fanout/fanout-metrics.js';
import type { PolicySource } from '../../../lambdas/fanout/snapshot-publisher.js';
import { SsmCommander } from '../../../lambdas/fanout/ssm-commander.js';
import { createBatchDelivery } from '../../../local/propagation/batch-delivery.js';
import { createTestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';
import { publishedState } from '../../helpers/published-state.js';

const ssm = mockClient(SSMClient);
let policies: DynamoDbPolicyStore;
let published: PolicySource;
let snapshots: DynamoDbSnapshotStore;
const logs: Record<string, unknown>[] = [];
const log = jsonLineLog({ service: 'test', write: (line) => logs.push(JSON.parse(line)) });

function commander(maxAttempts = 4): SsmCommander {
  return new SsmCommander({
    client: new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    documentName: 'egress-sync',
    tagKey: 'egress:cell',
    tagValue: 'true',
    maxAttempts,
    sleep: async () => undefined,
  });
}

function fanout(maxAttempts?: number): FanoutHandler {
  return createFanoutHandler({
    policies: published,
    snapshots,
    commander: commander(maxAttempts),
    log,
    metrics: noFanoutMetrics,
  });
}

function versionRecord(version: number, sequence: string): DynamoDBRecord {
  return {
    eventName: version === 1 ? 'INSERT' : 'MODIFY',
    dynamodb: {
      Keys: { pk: { S: 'META' }, sk: { S: 'VERSION' } },
      NewImage: { pk: { S: 'META' }, sk: { S: 'VERSION' }, version: { N: String(version) } },
      SequenceNumber: sequence,
    },
  };
}

function itemRecord(sequence: string): DynamoDBRecord {
  return { eventName: 'INSERT', dynamodb: { Keys: { pk: { S: 'DEST' }, sk: { S: 'x' } }, SequenceNumber: sequence } };
}

const throttled = (): Error => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

beforeAll(async () => {
  const table = await createTestTable();
  const documents = documentClient(table.client);
  policies = new DynamoDbPolicyStore({ client: documents, tableName: table.tableName });
  published = publishedState(policies, documents, table.tableName);
  snapshots = new DynamoDbSnapshotStore(documents, table.tableName);
});

beforeEach(() => {
  ssm.reset();
  logs.length = 0;
});

describe('fan-out', () => {
  it('coalesces a batch into one snapshot and one SendCommand for the newest version', async () => {
    const [db] = await policies.createDestinations([tcpDestination('fanout-db')]);
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'app-1' }, destination: { id: db?.id ?? '' } }]);
    const version = await policies.currentVersion();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-1' } });
    const handler = fanout();

    const records = [versionRecord(version - 1, '1'), itemRecord('2'), versionRecord(version, '3')];
    expect(await handler({ Records: records })).toBeUndefined();

    const calls = ssm.commandCalls(SendCommandCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      DocumentName: 'egress-sync',
      Targets: [{ Key: 'tag:egress:cell', Values: ['true'] }],
      Parameters: { MinVersion: [String(version)] },
      MaxConcurrency: '50%',
      // Never stop early: every cell is told even when some fail.
      MaxErrors: '100%',
    });
    const pointer = await snapshots.readPointer();
    expect(pointer?.version).toBe(version);
    if (!pointer) throw new Error('no snapshot published');
    const list = snapshotToPolicyList(await snapshots.read(pointer));
    expect(list.egress_policies.map((p) => [p.source.id, p.destination.name])).toEqual([['app-1', 'fanout-db']]);
  });

  it('ignores batches without version records', async () => {
    const handler = fanout();
    expect(await handler({ Records: [itemRecord('9')] })).toBeUndefined();
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('retries SSM throttling with backoff and succeeds', async () => {
    ssm.on(SendCommandCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
    const handler = fanout();
    const version = await policies.currentVersion();
    expect(await handler({ Records: [versionRecord(version, '10')] })).toBeUndefined();
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(3);
  });

  it('logs and fails the invocation when SSM keeps failing, so Lambda counts an error and retries the batch', async () => {
    ssm.on(SendCommandCommand).rejects(throttled());
    const handler = fanout(3);
    const version = await policies.currentVersion();
    await expect(handler({ Records: [itemRecord('20'), versionRecord(version, '21')] })).rejects.toThrow(
      'Rate exceeded',
    );
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(3);
    expect(logs.at(-1)).toMatchObject({
      level: 'ERROR',
      newestVersion: version,
      error: { name: 'ThrottlingException', message: 'Rate exceeded' },
    });
  });

  it('does not retry errors that are not throttling, and fails the invocation', async () => {
    ssm.on(SendCommandCommand).rejects(Object.assign(new Error('no such document'), { name: 'InvalidDocument' }));
    const handler = fanout();
    const version = await policies.currentVersion();
    await expect(handler({ Records: [versionRecord(version, '30')] })).rejects.toThrow('no such document');
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it('hands a batch that exhausts its retries to the on-failure destination, bisected', async () => {
    ssm.on(SendCommandCommand).rejects(throttled());
    const handler = fanout(1);
    const failed: { records: readonly DynamoDBRecord[]; reason: string }[] = [];
    const deliver = createBatchDelivery({
      handler,
      maxRetries: 2,
      sleep: async () => undefined,
      onFailure: async (records, reason) => {
        failed.push({ records, reason });
      },
    });
    const version = await policies.currentVersion();
    await deliver([versionRecord(version - 1, '40'), versionRecord(version, '41')]);
    // Two records: the batch fails, is bisected into two single-record batches, each retried until exhausted.
    expect(failed.map((f) => f.records.map((r) => r.dynamodb?.SequenceNumber))).toEqual([['40'], ['41']]);
    expect(failed[0]?.reason).toMatch(/the handler threw: .*retries exhausted/);
  });

  it('never moves the snapshot pointer back', async () => {
    const before = await snapshots.readPointer();
    const { encodeSnapshot, buildSnapshot } = await import('../../../core/domain/snapshot.js');
    expect(await snapshots.write(encodeSnapshot(buildSnapshot((before?.version ?? 1) - 1, [])))).toBe(false);
    expect((await snapshots.readPointer())?.version).toBe(before?.version);
  });
});
