// The fan-out's own cost per change, on DynamoDB Local: a publish of the change the stream batch
// describes (only the touched shards, from their policy lists) against a publish of the whole state
// (every policy and destination read, the whole snapshot written), for the same changes in one run.
//
// 100,000 policies to 10,000 destinations from 5,000 apps (FANOUT_POLICIES to change it), loaded
// item by item in the table's own layout (core/store/items.ts). Then, ROUNDS times each: an app gains
// a policy, and a destination used by several apps is updated, through the real stores; the fan-out
// publishes each from the version record as the stream carries it. Printed per kind of publish: the
// time the publish took (p50, max), the read units it consumed (ConsumedCapacity), the bytes read,
// and the shards it rewrote.
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { Destination } from '../core/domain/types.js';
import type { VersionChanges } from '../core/domain/version-changes.js';
import { DynamoDbPolicyStore } from '../core/store/dynamodb-policy-store.js';
import { destinationItem, destinationNameKey, destinationRefKey, policyKey, versionKey } from '../core/store/items.js';
import { DynamoDbSecurityGroupStore } from '../core/store/security-group-store.js';
import { shardedSnapshotStore } from '../core/store/sharded-snapshot-store.js';
import { documentClient } from '../core/store/table-stores.js';
import { publishedStateOf, publishSnapshot } from '../lambdas/fanout/snapshot-publisher.js';
import { changesOf } from '../lambdas/fanout/stream-filter.js';
import { ensureTable, LOCAL_CLIENT_CONFIG, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { emptyTally, meterReads, type ReadTally } from './lib/read-meter.js';
import { percentile } from './lib/stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const POLICIES = Number(process.env.FANOUT_POLICIES ?? 100_000);
const PER_APP = 20;
const APPS = Math.ceil(POLICIES / PER_APP);
const DESTINATIONS = Math.max(1, Math.floor(POLICIES / 10));
const ROUNDS = Number(process.env.FANOUT_ROUNDS ?? 5);

const destinations: Destination[] = Array.from({ length: DESTINATIONS }, (_, index) => ({
  id: `dest-${String(index).padStart(6, '0')}`,
  name: `destination-${index}`,
  protocol: 'tcp',
  ips: [{ start: `10.${index >> 8}.${index & 255}.1`, end: `10.${index >> 8}.${index & 255}.1` }],
  ports: [{ start: 443, end: 443 }],
}));

const ddb = await startDynamoDbLocal();
try {
  const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ddb.endpoint });
  const tableName = 'fanout-bench';
  await ensureTable(client, tableName);
  let tally: ReadTally | undefined;
  meterReads(client, () => tally);
  const documents = documentClient(client);
  const policies = new DynamoDbPolicyStore({ client: documents, tableName });
  const groups = new DynamoDbSecurityGroupStore({ client: documents, tableName });
  const source = publishedStateOf({ policies, securityGroups: groups });
  const snapshots = shardedSnapshotStore(documents, tableName);

  const loadStart = performance.now();
  await load(documents, tableName);
  console.log(
    `${POLICIES} policies, ${DESTINATIONS} destinations, ${APPS} apps loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`,
  );
  const first = performance.now();
  await publishSnapshot(source, snapshots);
  console.log(
    `first publish (whole, every shard and policy list): ${((performance.now() - first) / 1000).toFixed(1)} s`,
  );

  /** The version record's description, as the stream carries it. */
  const described = async (): Promise<Map<number, VersionChanges | undefined>> => {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'META' }, sk: { S: 'VERSION' } },
        ConsistentRead: true,
      }),
    );
    const record: DynamoDBRecord = JSON.parse(JSON.stringify({ eventName: 'MODIFY', dynamodb: { NewImage: Item } }));
    return new Map([[Number(Item?.version?.N), changesOf(record)]]);
  };

  type Kind = 'policy change' | 'destination update';
  const results = new Map<string, { ms: number[]; units: number[]; bytes: number[]; shards: number[] }>();
  let round = 0;
  const change = async (kind: Kind): Promise<void> => {
    round += 1;
    const app = (round * 7919) % APPS;
    if (kind === 'policy change') {
      const destination = destinations[(app * PER_APP + PER_APP + round) % DESTINATIONS] ?? destinations[0];
      await policies.createEgressPolicies([
        { source: { type: 'app', id: `app-${app}` }, destination: { id: destination?.id ?? '' } },
      ]);
    } else {
      const destination = destinations[(app * PER_APP) % DESTINATIONS];
      if (destination === undefined) throw new Error('no destination');
      const port = 1024 + round;
      await policies.updateDestinations([{ ...destination, ports: [{ start: port, end: port }] }]);
    }
  };
  const publishOnce = async (kind: Kind, how: 'described' | 'whole'): Promise<void> => {
    await change(kind);
    const current = await described();
    const changes = how === 'described' ? current : new Map([...current.keys()].map((v) => [v, undefined]));
    tally = emptyTally();
    const reads = tally;
    const start = performance.now();
    const result = await publishSnapshot(source, snapshots, { changes });
    const ms = performance.now() - start;
    tally = undefined;
    const expected = how === 'described' ? 'changes' : 'whole';
    if (result.how !== expected)
      throw new Error(`expected a ${expected} publish, got ${result.how} (${result.whyWhole})`);
    const entry = (await snapshots.readChanges([result.version])).get(result.version);
    const row = `${kind} | ${how}`;
    const into = results.get(row) ?? { ms: [], units: [], bytes: [], shards: [] };
    into.ms.push(ms);
    into.units.push(reads.units);
    into.bytes.push(reads.bytes);
    into.shards.push(entry === undefined || entry.keys === 'all' ? Number.NaN : entry.keys.length);
    results.set(row, into);
  };
  // Interleaved, so that both kinds of publish see the same table and the same machine.
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const kind of ['policy change', 'destination update'] as const) {
      await publishOnce(kind, 'whole');
      await publishOnce(kind, 'described');
    }
  }

  console.log('\nchange | publish | time p50 | time max | read units p50 | bytes read p50 | shards rewritten');
  const medians = new Map<string, number>();
  for (const [row, { ms, units, bytes, shards }] of results) {
    const p50 = percentile(ms, 50);
    medians.set(row, p50);
    console.log(
      `${row} | ${p50.toFixed(0)} ms | ${percentile(ms, 100).toFixed(0)} ms | ${percentile(units, 50).toFixed(0)} | ${kb(percentile(bytes, 50))} | ${percentile(shards, 50)}`,
    );
  }
  for (const kind of ['policy change', 'destination update']) {
    const whole = medians.get(`${kind} | whole`) ?? Number.NaN;
    const described = medians.get(`${kind} | described`) ?? Number.NaN;
    console.log(`${kind}: described/whole time ${(described / whole).toFixed(3)}`);
  }
  console.log("\nGoal (issue 13, item 2): the fan-out's cost per change, not per table.");
} finally {
  await ddb.stop();
}

function kb(bytes: number): string {
  return bytes < 1024
    ? `${bytes.toFixed(0)} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

/** The destinations and policies written in the table's layout, as the stores would write them. */
async function load(documents: ReturnType<typeof documentClient>, tableName: string): Promise<void> {
  const refs = new Map<string, number>();
  const items: Record<string, unknown>[] = [];
  for (let app = 0; app < APPS; app += 1) {
    for (let k = 0; k < PER_APP && app * PER_APP + k < POLICIES; k += 1) {
      const destination = destinations[(app * PER_APP + k) % DESTINATIONS];
      if (destination === undefined) throw new Error('no destination');
      const id = `p-${String(app).padStart(6, '0')}-${String(k).padStart(2, '0')}`;
      refs.set(destination.id, (refs.get(destination.id) ?? 0) + 1);
      items.push(
        { ...policyKey(id), id, source_type: 'app', source_id: `app-${app}`, destination_id: destination.id },
        { ...destinationRefKey(destination.id, 'app', `app-${app}`), policy_id: id },
      );
    }
  }
  for (const destination of destinations) {
    items.push(destinationItem(destination, refs.get(destination.id) ?? 0), {
      ...destinationNameKey(destination.name),
      id: destination.id,
    });
  }
  items.push({ ...versionKey(), version: 1, updated_at: new Date().toISOString() });
  const batches: Record<string, unknown>[][] = [];
  for (let offset = 0; offset < items.length; offset += 25) batches.push(items.slice(offset, offset + 25));
  // A few at once: DynamoDB Local takes them one by one anyway.
  for (let first = 0; first < batches.length; first += 8) {
    await Promise.all(
      batches.slice(first, first + 8).map(async (batch) => {
        let pending: { PutRequest: { Item: Record<string, unknown> } }[] = batch.map((Item) => ({
          PutRequest: { Item },
        }));
        while (pending.length > 0) {
          const result = await documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
          const left = result.UnprocessedItems?.[tableName] ?? [];
          pending = left.flatMap((request) =>
            request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
          );
        }
      }),
    );
  }
}
