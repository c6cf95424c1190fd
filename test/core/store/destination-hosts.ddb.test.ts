// Destinations matched by name on a real DynamoDB Local: hosts and routes are stored, listed, read
// by id and name, replaced and deleted whole; a classic destination's item gains no attribute.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDestinationsBodySchema } from '../../../core/domain/schemas.js';
import type { DestinationSpec } from '../../../core/domain/types.js';
import { parseWith } from '../../../core/domain/validation.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';

let table: TestTable;
let store: DynamoDbPolicyStore;

beforeAll(async () => {
  table = await createTestTable();
  store = new DynamoDbPolicyStore({ client: documentClient(table.client), tableName: table.tableName });
});

/** Specs as the API hands them to the store: through the request schema. */
const specs = (...destinations: unknown[]): DestinationSpec[] =>
  parseWith(createDestinationsBodySchema, { destinations }).destinations;

async function storedItem(id: string): Promise<Record<string, unknown>> {
  const { Item } = await documentClient(table.client).send(
    new GetCommand({ TableName: table.tableName, Key: { pk: 'DEST', sk: id }, ConsistentRead: true }),
  );
  if (Item === undefined) throw new Error(`no item ${id}`);
  return Item;
}

describe('destinations with hosts and routes', () => {
  it('round-trips hosts and routes through create, list, filters, update and delete', async () => {
    const [api, db] = await store.createDestinations(
      specs(
        {
          name: 'hosts-api',
          hosts: ['HttpBin.org', '*.example.org'],
          ports: [{ start: 80, end: 80 }],
          protocol: 'http',
          routes: [{ methods: ['GET'], path_regex: '^/status.*', headers: { 'x-api-key': 'k 1' } }, {}],
        },
        {
          name: 'hosts-db',
          ips: [{ start: '198.51.100.7', end: '198.51.100.7' }],
          hosts: ['db.example.com'],
          ports: [{ start: 5432, end: 5432 }],
          protocol: 'tcp',
        },
      ),
    );
    expect(api).toEqual({
      id: expect.any(String),
      name: 'hosts-api',
      ips: [],
      hosts: ['httpbin.org', '*.example.org'],
      ports: [{ start: 80, end: 80 }],
      protocol: 'http',
      routes: [{ methods: ['GET'], path_regex: '^/status.*', headers: { 'x-api-key': 'k 1' } }, {}],
    });
    // The API's key order: routes last, hosts after ips.
    expect(Object.keys(api ?? {})).toEqual(['id', 'name', 'ips', 'hosts', 'ports', 'protocol', 'routes']);
    const apiId = api?.id ?? '';
    const dbId = db?.id ?? '';
    expect(await store.listDestinations({ ids: [apiId, dbId] })).toEqual([api, db]);
    expect(await store.listDestinations({ names: ['hosts-db'] })).toEqual([db]);
    expect(await store.listDestinations()).toEqual(expect.arrayContaining([api, db]));

    // PUT replaces whole: hosts dropped, routes changed.
    const [dbNow] = await store.updateDestinations([
      { id: dbId, ...tcpDestination('hosts-db', { ips: [{ start: '198.51.100.7', end: '198.51.100.7' }] }) },
    ]);
    expect(dbNow).not.toHaveProperty('hosts');
    expect(await storedItem(dbId)).not.toHaveProperty('hosts');
    const [apiNow] = await store.updateDestinations([
      {
        id: apiId,
        ...(specs({
          name: 'hosts-api',
          hosts: ['httpbin.org'],
          ports: [{ start: 80, end: 80 }],
          protocol: 'http',
        })[0] as DestinationSpec),
      },
    ]);
    expect(apiNow).toEqual({
      id: apiId,
      name: 'hosts-api',
      ips: [],
      hosts: ['httpbin.org'],
      ports: [{ start: 80, end: 80 }],
      protocol: 'http',
    });
    expect(await storedItem(apiId)).not.toHaveProperty('routes');
    expect(await store.deleteDestination(apiId)).toEqual(apiNow);
    expect(await store.listDestinations({ ids: [apiId] })).toEqual([]);
  });

  it('stores a classic destination with exactly the attributes it always had', async () => {
    const [classic] = await store.createDestinations([tcpDestination('hosts-classic')]);
    const item = await storedItem(classic?.id ?? '');
    expect(Object.keys(item).sort()).toEqual(['id', 'ips', 'name', 'pk', 'ports', 'protocol', 'refs', 'sk']);
    expect(Object.keys(classic ?? {})).toEqual(['id', 'name', 'ips', 'ports', 'protocol']);
  });

  it('carries hosts into the policies that use the destination', async () => {
    const [https] = await store.createDestinations(
      specs({ name: 'hosts-policy', hosts: ['api.example.com'], ports: [{ start: 443, end: 443 }], protocol: 'https' }),
    );
    const { policies } = await store.createEgressPolicies([
      { source: { type: 'app', id: 'app-hosts' }, destination: { id: https?.id ?? '' } },
    ]);
    expect(policies[0]?.destination).toEqual(https);
    const listed = await store.findEgressPolicies({ sourceIds: ['app-hosts'] });
    expect(listed.map((policy) => policy.destination)).toEqual([https]);
    expect((await store.listEgressPolicies()).find((policy) => policy.source.id === 'app-hosts')?.destination).toEqual(
      https,
    );
  });
});
