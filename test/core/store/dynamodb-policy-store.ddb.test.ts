// The store against a real DynamoDB Local: integrity, all-or-nothing writes, races, pagination.
import { BatchWriteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { InUseError, NameConflictError, NotFoundError, UnknownReferenceError } from '../../../core/domain/errors.js';
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

async function itemCount(): Promise<number> {
  const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const result = await table.client.send(new ScanCommand({ TableName: table.tableName, Select: 'COUNT' }));
  return result.Count ?? 0;
}

describe('destinations', () => {
  it('creates, lists, filters by id and name, updates and deletes', async () => {
    const [a, b] = await store.createDestinations([tcpDestination('store-a'), tcpDestination('store-b')]);
    expect(a?.id).toMatch(/^[0-9a-f-]{36}$/);
    const all = await store.listDestinations();
    expect(all.map((d) => d.name)).toEqual(expect.arrayContaining(['store-a', 'store-b']));
    expect(await store.listDestinations({ ids: [b?.id ?? '', 'unknown'] })).toEqual([b]);
    expect(await store.listDestinations({ names: ['store-a'] })).toEqual([a]);

    const [renamed] = await store.updateDestinations([{ ...tcpDestination('store-a2'), id: a?.id ?? '' }]);
    expect(renamed?.name).toBe('store-a2');
    expect(await store.listDestinations({ names: ['store-a'] })).toEqual([]);
    // The old name is free again.
    const [reused] = await store.createDestinations([tcpDestination('store-a')]);
    expect(reused?.name).toBe('store-a');

    expect(await store.deleteDestination(b?.id ?? '')).toEqual(b);
    expect(await store.listDestinations({ ids: [b?.id ?? ''] })).toEqual([]);
  });

  it('refuses a taken name and writes nothing of the request', async () => {
    await store.createDestinations([tcpDestination('taken')]);
    const before = await itemCount();
    await expect(store.createDestinations([tcpDestination('fresh-1'), tcpDestination('taken')])).rejects.toThrow(
      NameConflictError,
    );
    await expect(store.createDestinations([tcpDestination('dup'), tcpDestination('dup')])).rejects.toThrow(
      /appears more than once/,
    );
    expect(await itemCount()).toBe(before);
    expect(await store.listDestinations({ names: ['fresh-1', 'dup'] })).toEqual([]);
  });

  it('swaps two names in one update and refuses renaming onto a third', async () => {
    const [x, y, z] = await store.createDestinations([
      tcpDestination('swap-x'),
      tcpDestination('swap-y'),
      tcpDestination('swap-z'),
    ]);
    if (!x || !y || !z) throw new Error('setup');
    await store.updateDestinations([
      { ...x, name: 'swap-y' },
      { ...y, name: 'swap-x' },
    ]);
    expect((await store.listDestinations({ names: ['swap-x'] }))[0]?.id).toBe(y.id);
    await expect(store.updateDestinations([{ ...x, name: 'swap-z' }])).rejects.toThrow(NameConflictError);
  });

  it('answers unknown ids on update and delete with NotFoundError and changes nothing', async () => {
    const [known] = await store.createDestinations([tcpDestination('nf-known')]);
    if (!known) throw new Error('setup');
    await expect(
      store.updateDestinations([
        { ...known, name: 'nf-renamed' },
        { ...tcpDestination('nf-other'), id: 'no-such-id' },
      ]),
    ).rejects.toThrow(NotFoundError);
    expect((await store.listDestinations({ ids: [known.id] }))[0]?.name).toBe('nf-known');
    await expect(store.deleteDestination('no-such-id')).rejects.toThrow(NotFoundError);
  });
});

describe('egress policies', () => {
  it('creates idempotently, embeds the destination, and deletes', async () => {
    const [db] = await store.createDestinations([tcpDestination('pol-db')]);
    if (!db) throw new Error('setup');
    const input = { source: { type: 'app' as const, id: 'app-1' }, destination: { id: db.id } };
    const first = await store.createEgressPolicies([input, input]);
    expect(first.created).toBe(1);
    expect(first.policies).toHaveLength(1);
    expect(first.policies[0]?.destination).toEqual(db);
    const again = await store.createEgressPolicies([input]);
    expect(again).toEqual({ policies: first.policies, created: 0 });
    const listed = await store.listEgressPolicies();
    expect(listed.filter((p) => p.source.id === 'app-1')).toEqual(first.policies);
    const policyId = first.policies[0]?.id ?? '';
    expect(await store.deleteEgressPolicy(policyId)).toEqual(first.policies[0]);
    await expect(store.deleteEgressPolicy(policyId)).rejects.toThrow(NotFoundError);
  });

  it('refuses unknown destinations naming them, all or nothing', async () => {
    const [db] = await store.createDestinations([tcpDestination('pol-ref')]);
    if (!db) throw new Error('setup');
    const error = await store
      .createEgressPolicies([
        { source: { type: 'space', id: 'space-1' }, destination: { id: db.id } },
        { source: { type: 'space', id: 'space-1' }, destination: { id: 'ghost-1' } },
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownReferenceError);
    expect((error as UnknownReferenceError).missingIds).toEqual(['ghost-1']);
    expect((await store.listEgressPolicies()).filter((p) => p.source.id === 'space-1')).toEqual([]);
  });

  it('keeps a destination that policies use, naming them', async () => {
    const [db] = await store.createDestinations([tcpDestination('pol-used')]);
    if (!db) throw new Error('setup');
    const { policies } = await store.createEgressPolicies([
      { source: { type: 'app', id: 'user-app' }, destination: { id: db.id } },
    ]);
    const error = await store.deleteDestination(db.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InUseError);
    expect((error as InUseError).policyIds).toEqual([policies[0]?.id]);
    expect(await store.listDestinations({ ids: [db.id] })).toHaveLength(1);
  });

  it('advances the version by one per write and not on refused writes', async () => {
    const before = await store.currentVersion();
    await store.createDestinations([tcpDestination('ver-a')]);
    await store.createDestinations([tcpDestination('ver-a')]).catch(() => undefined);
    expect(await store.currentVersion()).toBe(before + 1);
  });
});

describe('races', () => {
  it('gives one winner among concurrent creates of one name', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => store.createDestinations([tcpDestination('race-name')])),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(NameConflictError);
    }
    expect(await store.listDestinations({ names: ['race-name'] })).toHaveLength(1);
  });

  it('lets concurrent writers of different items all succeed', async () => {
    const [db] = await store.createDestinations([tcpDestination('busy-db')]);
    const before = await store.currentVersion();
    const writers = Array.from({ length: 6 }, (_, writer) =>
      (async () => {
        for (let i = 0; i < 5; i += 1) {
          await store.createEgressPolicies([
            { source: { type: 'app', id: `busy-${writer}-${i}` }, destination: { id: db?.id ?? '' } },
          ]);
        }
      })(),
    );
    await Promise.all(writers);
    expect(await store.currentVersion()).toBe(before + 30);
    expect((await store.listEgressPolicies()).filter((p) => p.source.id.startsWith('busy-'))).toHaveLength(30);
  });

  it('never leaves a dangling policy when a create races a destination delete', async () => {
    for (let round = 0; round < 5; round += 1) {
      const [db] = await store.createDestinations([tcpDestination(`race-del-${round}`)]);
      if (!db) throw new Error('setup');
      const [created, deleted] = await Promise.allSettled([
        store.createEgressPolicies([{ source: { type: 'app', id: `racer-${round}` }, destination: { id: db.id } }]),
        store.deleteDestination(db.id),
      ]);
      const destinationLeft = (await store.listDestinations({ ids: [db.id] })).length === 1;
      const policies = (await store.listEgressPolicies()).filter((p) => p.source.id === `racer-${round}`);
      // Exactly one of them won, and the store agrees with it.
      expect(created.status === 'fulfilled').not.toBe(deleted.status === 'fulfilled');
      expect(destinationLeft).toBe(created.status === 'fulfilled');
      expect(policies).toHaveLength(created.status === 'fulfilled' ? 1 : 0);
      const references = await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `DESTREF#${db.id}` } },
        }),
      );
      expect(references.Count).toBe(created.status === 'fulfilled' ? 1 : 0);
    }
  });
});

describe('pagination', () => {
  it('lists every destination past DynamoDB 1 MB pages', async () => {
    const paged = await createTestTable();
    const pagedStore = new DynamoDbPolicyStore({ client: documentClient(paged.client), tableName: paged.tableName });
    const description = 'x'.repeat(1000);
    const total = 1500; // ~1.6 MB of destinations: at least two Query pages
    for (let offset = 0; offset < total; offset += 25) {
      await paged.client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [paged.tableName]: Array.from({ length: 25 }, (_, i) => ({
              PutRequest: {
                Item: {
                  pk: { S: 'DEST' },
                  sk: { S: `id-${offset + i}` },
                  id: { S: `id-${offset + i}` },
                  name: { S: `n-${offset + i}` },
                  description: { S: description },
                  ips: { L: [{ M: { start: { S: '1.1.1.1' }, end: { S: '1.1.1.1' } } }] },
                  ports: { L: [{ M: { start: { N: '1' }, end: { N: '2' } } }] },
                  protocol: { S: 'tcp' },
                },
              },
            })),
          },
        }),
      );
    }
    expect(await pagedStore.listDestinations()).toHaveLength(total);
    expect(await pagedStore.listDestinations({ ids: Array.from({ length: 250 }, (_, i) => `id-${i}`) })).toHaveLength(
      250,
    );
  });
});
