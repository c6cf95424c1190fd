// Items the stores did not write, put straight into DynamoDB Local: every store refuses them with an
// IntegrityError naming the item's key and the field, never passing on a wrong value, and the API
// answers 500 without showing any of it. Items of older layouts still read as before.
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../core/domain/errors.js';
import { DynamoDbCellStatusStore } from '../../../core/store/cell-status-store.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { createTestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';
import { API, startTestApi, type TestApi } from '../../helpers/local-api.js';

/** A fresh table, so one damaged item fails only the test that wrote it. */
async function setUp() {
  const table = await createTestTable();
  const client = documentClient(table.client);
  return {
    put: (item: Record<string, unknown>) => client.send(new PutCommand({ TableName: table.tableName, Item: item })),
    remove: (key: Record<string, string>) => client.send(new DeleteCommand({ TableName: table.tableName, Key: key })),
    policies: new DynamoDbPolicyStore({ client, tableName: table.tableName }),
    cells: new DynamoDbCellStatusStore(client, table.tableName),
    snapshots: new DynamoDbSnapshotStore(client, table.tableName),
    client,
  };
}

const SECRET = 'do-not-show-me';

const goodDestination = (id: string) => ({
  pk: 'DEST',
  sk: id,
  id,
  name: `name-${id}`,
  ips: [{ start: '198.51.100.1', end: '198.51.100.1' }],
  ports: [{ start: 443, end: 443 }],
  protocol: 'tcp',
  refs: 0,
});

/** The IntegrityError `promise` rejects with; fails the test if it rejects with anything else. */
async function integrityError(promise: Promise<unknown>): Promise<IntegrityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IntegrityError);
  if (!(error instanceof IntegrityError)) throw new Error('unreachable');
  expect(error.kind).toBe('integrity');
  expect(error.message).not.toContain(SECRET);
  return error;
}

describe('destinations and policies', () => {
  it('refuses a destination whose port is not a number, naming its key and the field', async () => {
    const { put, policies } = await setUp();
    await put(goodDestination('fine'));
    await put({ ...goodDestination('bad'), ports: [{ start: SECRET, end: 443 }] });
    for (const read of [() => policies.listDestinations(), () => policies.listDestinations({ ids: ['bad'] })]) {
      const error = await integrityError(read());
      expect(error.key).toEqual({ pk: 'DEST', sk: 'bad' });
      expect(error.field).toBe('ports.0.start');
      expect(error.problem).toBe('expected number');
      expect(error.message).toBe('stored item pk="DEST" sk="bad" is invalid: ports.0.start: expected number');
    }
    // A write that reads it refuses too, and writes nothing.
    const before = await policies.currentVersion();
    await integrityError(policies.updateDestinations([{ id: 'bad', ...tcpDestination('renamed') }]));
    expect(await policies.currentVersion()).toBe(before);
  });

  it('refuses an unknown protocol and an address that is not IPv4', async () => {
    const { put, policies } = await setUp();
    await put({ ...goodDestination('proto'), protocol: SECRET });
    expect(await integrityError(policies.listDestinations({ ids: ['proto'] }))).toMatchObject({
      field: 'protocol',
      problem: 'expected one of tcp, udp, icmp, http, https',
    });
    await put({ ...goodDestination('addr'), ips: [{ start: '198.51.100.1', end: SECRET }] });
    expect(await integrityError(policies.listDestinations({ ids: ['addr'] }))).toMatchObject({
      key: { pk: 'DEST', sk: 'addr' },
      field: 'ips.0.end',
      problem: 'expected an IPv4 address',
    });
  });

  it('refuses a rename or delete at once when the name guard does not name the destination (missing or another)', async () => {
    const { put, remove, policies } = await setUp();
    const [destination] = await policies.createDestinations([tcpDestination('guarded')]);
    const id = destination?.id ?? '';
    const guard = { pk: 'DESTNAME', sk: 'guarded' };
    const damaged = [() => remove(guard), () => put({ ...guard, id: 'another-destination' })];
    for (const damage of damaged) {
      await damage();
      const before = await policies.currentVersion();
      for (const write of [
        () => policies.updateDestinations([{ id, ...tcpDestination('renamed') }]),
        () => policies.deleteDestination(id),
      ]) {
        const started = Date.now();
        expect(await integrityError(write())).toMatchObject({
          key: guard,
          field: 'id',
          problem: 'does not name the destination that has this name',
        });
        // Named at once, not a ContentionError once every retry has failed.
        expect(Date.now() - started).toBeLessThan(1000);
      }
      expect(await policies.currentVersion()).toBe(before);
    }
  });

  it('refuses a damaged name guard when listing by name', async () => {
    const { put, policies } = await setUp();
    await put({ pk: 'DESTNAME', sk: 'guarded', id: 42 });
    expect(await integrityError(policies.listDestinations({ names: ['guarded'] }))).toMatchObject({
      key: { pk: 'DESTNAME', sk: 'guarded' },
      field: 'id',
      problem: 'expected string',
    });
  });

  it('refuses a policy without a source type, and one whose destination is gone', async () => {
    const { put, policies } = await setUp();
    await put(goodDestination('d1'));
    await put({ pk: 'POLICY', sk: 'p1', id: 'p1', source_id: SECRET, destination_id: 'd1' });
    expect(await integrityError(policies.listEgressPolicies())).toMatchObject({
      key: { pk: 'POLICY', sk: 'p1' },
      field: 'source_type',
    });
    await put({ pk: 'POLICY', sk: 'p1', id: 'p1', source_type: 'app', source_id: 'a1', destination_id: 'gone' });
    expect(await integrityError(policies.deleteEgressPolicy('p1'))).toMatchObject({
      key: { pk: 'POLICY', sk: 'p1' },
      field: 'destination_id',
    });
  });

  it('refuses a damaged policy guard when a policy create reads it', async () => {
    const { put, policies } = await setUp();
    await put(goodDestination('d2'));
    await put({ pk: 'DESTREF#d2', sk: 'app#a2' });
    expect(
      await integrityError(
        policies.createEgressPolicies([{ source: { type: 'app', id: 'a2' }, destination: { id: 'd2' } }]),
      ),
    ).toMatchObject({ key: { pk: 'DESTREF#d2', sk: 'app#a2' }, field: 'policy_id' });
  });

  it('refuses a version record that is not a number', async () => {
    const { put, policies, cells } = await setUp();
    expect(await policies.currentVersion()).toBe(0);
    await put({ pk: 'META', sk: 'VERSION', version: SECRET, updated_at: 'then' });
    expect(await integrityError(policies.currentVersion())).toMatchObject({
      key: { pk: 'META', sk: 'VERSION' },
      field: 'version',
    });
    await integrityError(cells.currentVersion());
  });

  it('reads destinations of older layouts exactly as before: icmp without ports, in the API key order', async () => {
    const { put, policies } = await setUp();
    await put({
      pk: 'DEST',
      sk: 'old-icmp',
      icmp_code: -1,
      protocol: 'icmp',
      icmp_type: 8,
      ips: [{ end: '198.51.100.9', start: '198.51.100.1' }],
      description: 'ping',
      name: 'old',
      id: 'old-icmp',
    });
    const [destination] = await policies.listDestinations();
    expect(JSON.stringify(destination)).toBe(
      JSON.stringify({
        id: 'old-icmp',
        name: 'old',
        description: 'ping',
        ips: [{ start: '198.51.100.1', end: '198.51.100.9' }],
        ports: [],
        protocol: 'icmp',
        icmp_type: 8,
        icmp_code: -1,
      }),
    );
  });
});

describe('cell reports', () => {
  it('reads a destination whose policies predate the counter, after one of them was deleted', async () => {
    const { put, policies } = await setUp();
    // A destination and a policy written before `refs` existed: deleting the policy subtracts from a
    // counter that never counted it, which leaves -1. Lists (and so the fan-out) must still read it.
    await put({ ...goodDestination('legacy'), refs: undefined });
    await put({
      pk: 'POLICY',
      sk: 'p-old',
      id: 'p-old',
      source_type: 'app',
      source_id: 'app-1',
      destination_id: 'legacy',
    });
    await put({ pk: 'DESTREF#legacy', sk: 'app#app-1', policy_id: 'p-old' });
    await policies.deleteEgressPolicy('p-old');
    expect((await policies.listDestinations()).map((destination) => destination.id)).toEqual(['legacy']);
    expect(await policies.listEgressPolicies()).toEqual([]);
  });

  it('refuses a report whose version is not a number', async () => {
    const { put, cells } = await setUp();
    await put({ pk: 'CELL', sk: 'cell-1', applied_version: SECRET, applied_at: 'then', synced_at: 'now' });
    expect(await integrityError(cells.list())).toMatchObject({
      key: { pk: 'CELL', sk: 'cell-1' },
      field: 'applied_version',
      problem: 'expected number',
    });
  });

  it('reads reports written before synced_at, containers and rules existed', async () => {
    const { put, cells } = await setUp();
    await put({ pk: 'CELL', sk: 'cell-old', applied_version: 3, applied_at: '2026-01-01T00:00:00.000Z' });
    expect(await cells.list()).toEqual([
      {
        name: 'cell-old',
        appliedVersion: 3,
        appliedAt: '2026-01-01T00:00:00.000Z',
        syncedAt: '2026-01-01T00:00:00.000Z',
        containers: 0,
        rules: 0,
      },
    ]);
  });
});

describe('snapshots', () => {
  const pointer = { pk: 'SNAPSHOT', sk: 'CURRENT', version: 2, chunks: 1, bytes: 3, sha256: 'abc', written_at: 'then' };

  it('refuses a pointer without a chunk count, and a chunk that is not binary', async () => {
    const { put, snapshots } = await setUp();
    const { chunks: _chunks, ...withoutChunks } = pointer;
    await put(withoutChunks);
    expect(await integrityError(snapshots.readPointer())).toMatchObject({
      key: { pk: 'SNAPSHOT', sk: 'CURRENT' },
      field: 'chunks',
      problem: 'expected number',
    });
    await put({ ...pointer, chunk_prefix: 7 });
    expect(await integrityError(snapshots.readPointer())).toMatchObject({ field: 'chunk_prefix' });

    await put(pointer);
    const read = await snapshots.readPointer();
    expect(read).toEqual({ version: 2, chunks: 1, bytes: 3, sha256: 'abc', writtenAt: 'then' });
    await put({ pk: 'SNAPSHOT', sk: 'v000000000002#00000', data: SECRET });
    expect(await integrityError(snapshots.readBytes(read ?? { ...pointer, writtenAt: 'then' }))).toMatchObject({
      key: { pk: 'SNAPSHOT', sk: 'v000000000002#00000' },
      field: 'data',
      problem: 'expected Uint8Array',
    });
  });
});

describe('the HTTP API on damaged data', () => {
  let api: TestApi;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    api = await startTestApi();
    client = documentClient(api.local.dynamodb);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('answers 500 with a generic message, showing neither the item nor its key', async () => {
    await client.send(
      new PutCommand({
        TableName: api.local.tableName,
        Item: { ...goodDestination('damaged-id'), ports: [{ start: SECRET, end: 443 }] },
      }),
    );
    const response = await api.call('GET', `${API}/destinations`);
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ error: 'internal server error' });
    const text = JSON.stringify(response.body);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('damaged-id');
  });
});
