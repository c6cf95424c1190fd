// The API's policy list against DynamoDB Local: every filter, and which items it reads to answer
// (observed on the real client's middleware stack): the destinations of the policies it returns, by
// key, or the whole partition once there are more of them than reading by key pays for.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Destination } from '../../../core/domain/types.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DESTINATION_PK, POLICY_PK } from '../../../core/store/items.js';
import { PARTITION_KEY } from '../../../core/store/table-definition.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { LOCAL_CLIENT_CONFIG } from '../../../local/dynamodb-local.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';

interface Reads {
  /** Partitions queried. */
  readonly queried: string[];
  /** Partition keys read by BatchGetItem, one entry per key. */
  readonly byKey: string[];
}

/** Records the reads a client sends from now on. */
function recordReads(client: DynamoDBDocumentClient): Reads {
  const reads: Reads = { queried: [], byKey: [] };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input: unknown = args.input;
      if (context.commandName === 'QueryCommand' && typeof input === 'object' && input !== null) {
        const values = 'ExpressionAttributeValues' in input ? input.ExpressionAttributeValues : undefined;
        if (typeof values === 'object' && values !== null && ':pk' in values) reads.queried.push(String(values[':pk']));
      }
      if (context.commandName === 'BatchGetItemCommand' && typeof input === 'object' && input !== null) {
        const requests = 'RequestItems' in input ? input.RequestItems : undefined;
        for (const request of Object.values(typeof requests === 'object' && requests !== null ? requests : {})) {
          const keys: unknown[] = Array.isArray(request?.Keys) ? request.Keys : [];
          for (const key of keys) {
            if (typeof key === 'object' && key !== null && PARTITION_KEY in key) {
              reads.byKey.push(String(key[PARTITION_KEY]));
            }
          }
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordReads' },
  );
  return reads;
}

let table: TestTable;
let store: DynamoDbPolicyStore;
let destinations: Destination[];
const app = (n: number) => ({ type: 'app' as const, id: `app-${n}` });

beforeAll(async () => {
  table = await createTestTable();
  store = new DynamoDbPolicyStore({ client: documentClient(table.client), tableName: table.tableName });
  destinations = await store.createDestinations(Array.from({ length: 30 }, (_, k) => tcpDestination(`find-${k}`)));
  const [d0, d1] = destinations;
  await store.createEgressPolicies([
    { source: app(1), destination: { id: d0?.id ?? '' } },
    { source: app(2), destination: { id: d0?.id ?? '' } },
    { source: { type: 'space', id: 'space-1' }, destination: { id: d1?.id ?? '' } },
  ]);
});

/** A store on a client of its own (a document client shares its client's middleware), reads recorded. */
function observedStore(destinationsReadByKey?: number): { store: DynamoDbPolicyStore; reads: Reads } {
  const client = documentClient(new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: table.endpoint }));
  const reads = recordReads(client);
  return {
    store: new DynamoDbPolicyStore({
      client,
      tableName: table.tableName,
      ...(destinationsReadByKey === undefined ? {} : { destinationsReadByKey }),
    }),
    reads,
  };
}

describe('findEgressPolicies', () => {
  it('filters by source id (any case), source type, destination id and destination name', async () => {
    const [d0, d1] = destinations;
    const sources = async (filter: Parameters<DynamoDbPolicyStore['findEgressPolicies']>[0]) =>
      (await store.findEgressPolicies(filter)).map((policy) => policy.source.id).sort();
    expect(await sources({})).toEqual(['app-1', 'app-2', 'space-1']);
    expect(await sources({ sourceIds: ['APP-1', 'space-1'] })).toEqual(['app-1', 'space-1']);
    expect(await sources({ sourceTypes: ['space'] })).toEqual(['space-1']);
    expect(await sources({ destinationIds: [d1?.id ?? ''] })).toEqual(['space-1']);
    expect(await sources({ destinationNames: [d0?.name ?? '', 'find-29'] })).toEqual(['app-1', 'app-2']);
    expect(await sources({ sourceTypes: ['app'], destinationIds: [d1?.id ?? ''] })).toEqual([]);
    const [policy] = await store.findEgressPolicies({ sourceIds: ['app-1'] });
    expect(policy?.destination).toEqual(d0);
  });

  it('reads the policies and, by key, only the destinations of those it returns', async () => {
    const { store: watched, reads } = observedStore();
    const [, d1] = destinations;
    expect(await watched.findEgressPolicies({})).toHaveLength(3);
    expect(reads.queried).toEqual([POLICY_PK]);
    expect(reads.byKey).toEqual([DESTINATION_PK, DESTINATION_PK]);
    reads.queried.length = 0;
    reads.byKey.length = 0;
    expect(await watched.findEgressPolicies({ sourceIds: ['space-1'] })).toMatchObject([{ destination: d1 }]);
    expect(reads.byKey).toEqual([DESTINATION_PK]);
    reads.byKey.length = 0;
    expect(await watched.findEgressPolicies({ sourceIds: ['nobody'] })).toEqual([]);
    expect(reads.byKey).toEqual([]);
  });

  it('reads the whole destination partition once the destinations are more than reading by key pays for', async () => {
    const { store: watched, reads } = observedStore(1);
    expect(await watched.findEgressPolicies({})).toEqual(await store.findEgressPolicies({}));
    expect(reads.queried.sort()).toEqual([DESTINATION_PK, POLICY_PK].sort());
    expect(reads.byKey).toEqual([]);
  });

  it('returns what listEgressPolicies returns, in the same order, when nothing is filtered', async () => {
    expect(await store.findEgressPolicies({})).toEqual(await store.listEgressPolicies());
  });
});
