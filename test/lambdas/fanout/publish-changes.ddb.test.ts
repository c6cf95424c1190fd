// Publishing described changes on DynamoDB Local: the writes of the real stores describe what they
// changed on the version record, the fan-out reads those descriptions from the record as a stream
// would carry it, and rewrites only the shards they touch. After every write, every stored shard and
// policy list must equal what a whole build of the table gives.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { prng } from '../../../bench/lib/agent-scenario.js';
import { NO_BINDINGS, type SecurityGroupInput } from '../../../core/domain/security-group.js';
import { policyListsOf } from '../../../core/domain/shard-updates.js';
import { buildSnapshot, decodeSnapshot, encodeSnapshot, sha256 } from '../../../core/domain/snapshot.js';
import { shardContent, splitSnapshot } from '../../../core/domain/source-shards.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';
import type { VersionChanges } from '../../../core/domain/version-changes.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSecurityGroupStore } from '../../../core/store/security-group-store.js';
import { ShardItems } from '../../../core/store/shard-items.js';
import { ShardedSnapshotStore, shardedSnapshotStore } from '../../../core/store/sharded-snapshot-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { type PolicySource, publishedStateOf, publishSnapshot } from '../../../lambdas/fanout/snapshot-publisher.js';
import { changesOf } from '../../../lambdas/fanout/stream-filter.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';

let table: TestTable;
let policies: DynamoDbPolicyStore;
let groups: DynamoDbSecurityGroupStore;
let snapshots: ShardedSnapshotStore;
let items: ShardItems;
/** Counts whole reads: a publish of described changes must make none. */
let lists: number;
let source: PolicySource;

beforeEach(async () => {
  table = await createTestTable();
  const client = documentClient(table.client);
  policies = new DynamoDbPolicyStore({ client, tableName: table.tableName });
  groups = new DynamoDbSecurityGroupStore({ client, tableName: table.tableName });
  snapshots = shardedSnapshotStore(client, table.tableName);
  items = new ShardItems(client, table.tableName);
  lists = 0;
  const state = publishedStateOf({ policies, securityGroups: groups });
  source = {
    ...state,
    listEgressPolicies: () => {
      lists += 1;
      return state.listEgressPolicies();
    },
  };
});

/** The version record as the stream carries it (wire format), after the write of `version`. */
async function changesOfCurrent(): Promise<Map<number, VersionChanges | undefined>> {
  const { Item } = await table.client.send(
    new GetItemCommand({
      TableName: table.tableName,
      Key: { pk: { S: 'META' }, sk: { S: 'VERSION' } },
      ConsistentRead: true,
    }),
  );
  // As Lambda gets it: the stream's JSON.
  const record: DynamoDBRecord = JSON.parse(JSON.stringify({ eventName: 'MODIFY', dynamodb: { NewImage: Item } }));
  const version = Number(Item?.version?.N);
  return new Map([[version, changesOf(record)]]);
}

const publish = async (changes?: ReadonlyMap<number, VersionChanges | undefined>) =>
  publishSnapshot(source, snapshots, changes === undefined ? {} : { changes });

/** Every shard and policy list stored equals a whole build of the table as it is now. */
async function expectStoredEqualsWholeBuild(): Promise<void> {
  const [all, groupList] = await Promise.all([policies.listEgressPolicies(), groups.listSecurityGroups()]);
  const expected = splitSnapshot(buildSnapshot(0, all, groupList));
  const expectedLists = policyListsOf(all);
  const keys = await items.listShardKeys();
  const stored = await items.readShards(keys);
  const epoch = await snapshots.epoch();
  const storedLists = await items.readPolicies(keys, epoch);
  expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, shard] of stored) {
    const want = expected.get(key);
    expect(shardContent(decodeSnapshot(shard.bytes, sha256(shard.bytes))), key).toBe(
      want === undefined ? undefined : shardContent(want),
    );
  }
  for (const key of keys) expect(storedLists.get(key) ?? [], key).toEqual(expectedLists.get(key) ?? []);
}

async function destinations(count: number): Promise<Destination[]> {
  return policies.createDestinations(
    Array.from({ length: count }, (_, index) =>
      tcpDestination(`dest-${index}`, { ips: [{ start: `10.1.${index}.1`, end: `10.1.${index}.1` }] }),
    ),
  );
}

const group = (name: string, bindings: SecurityGroupInput['bindings'] = NO_BINDINGS): SecurityGroupInput => ({
  name,
  globallyEnabled: { running: false, staging: false },
  rules: [{ protocol: 'tcp', destination: '192.168.7.0/24', ports: '443' }],
  bindings,
});

describe('publishing described changes', () => {
  it('rewrites only the shard a policy change touched, without reading every policy', async () => {
    const [d1, d2] = await destinations(2);
    await policies.createEgressPolicies([
      { source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' } },
      { source: { type: 'app', id: 'a2' }, destination: { id: d1?.id ?? '' } },
    ]);
    expect((await publish(await changesOfCurrent())).how).toBe('whole');
    lists = 0;

    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a1' }, destination: { id: d2?.id ?? '' } }]);
    const changes = await changesOfCurrent();
    const result = await publish(changes);
    expect(result).toMatchObject({ how: 'changes', written: true, version: Math.max(...changes.keys()) });
    expect(lists).toBe(0);
    const pointer = await snapshots.readPointer();
    // No whole snapshot: only the shards say what this version is.
    expect(pointer).toMatchObject({ chunks: 0, sha256: '', policyIndex: true, latestChanges: ['app:a1'] });
    expect((await snapshots.readChanges([result.version])).get(result.version)?.keys).toEqual(['app:a1']);
    await expectStoredEqualsWholeBuild();
  });

  it('keeps every shard equal to a whole build through a random run of writes of every kind', async () => {
    const random = prng(7);
    const pick = <T>(list: readonly T[]): T => {
      const item = list[Math.floor(random() * list.length)];
      if (item === undefined) throw new Error('empty list');
      return item;
    };
    const dests = await destinations(6);
    const sources = [
      { type: 'app' as const, id: 'a1' },
      { type: 'app' as const, id: 'a2' },
      { type: 'space' as const, id: 's1' },
      { type: 'default' as const, id: '' },
    ];
    await publish(await changesOfCurrent());
    const groupGuids: string[] = [];
    const created: EgressPolicy[] = [];
    for (let step = 0; step < 30; step += 1) {
      const roll = random();
      if (roll < 0.4 || created.length === 0) {
        const roll2 = random();
        const result = await policies.createEgressPolicies([
          {
            source: pick(sources),
            destination: { id: pick(dests).id },
            ...(roll2 < 0.3 ? { app_lifecycle: 'running' as const } : {}),
          },
        ]);
        created.push(...result.policies);
      } else if (roll < 0.6) {
        const [gone] = created.splice(Math.floor(random() * created.length), 1);
        if (gone !== undefined) await policies.deleteEgressPolicy(gone.id).catch(() => undefined);
      } else if (roll < 0.75) {
        const target = pick(dests);
        const port = 1000 + step;
        await policies.updateDestinations([{ ...target, ports: [{ start: port, end: port }] }]);
      } else if (roll < 0.85 || groupGuids.length === 0) {
        const made = await groups.createSecurityGroup(
          group(`g${step}`, { ...NO_BINDINGS, running: { space: ['s1'], organization: [] } }),
        );
        groupGuids.push(made.guid);
      } else if (roll < 0.95) {
        await groups.bind(pick(groupGuids), 'staging', 'organization', ['o1']);
      } else {
        await groups.updateSecurityGroup(pick(groupGuids), { globallyEnabled: { running: true } });
      }
      lists = 0;
      const result = await publish(await changesOfCurrent());
      expect(result.how, `step ${step}: ${result.whyWhole ?? ''}`).not.toBe('whole');
      expect(lists).toBe(0);
      await expectStoredEqualsWholeBuild();
    }
  });

  it('reads the whole state when a version is missing from the batch or not described', async () => {
    const [d1] = await destinations(1);
    await publish(await changesOfCurrent());
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' } }]);
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a2' }, destination: { id: d1?.id ?? '' } }]);
    // Only the newest record: the one before it is missing (a batch lost to the failure queue).
    const gap = await publish(await changesOfCurrent());
    expect(gap.how).toBe('whole');
    expect(gap.whyWhole).toMatch(/is not in this batch/);
    await expectStoredEqualsWholeBuild();

    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a3' }, destination: { id: d1?.id ?? '' } }]);
    const current = await changesOfCurrent();
    const undescribed = await publish(new Map([...current.keys()].map((version) => [version, undefined])));
    expect(undescribed.how).toBe('whole');
    await expectStoredEqualsWholeBuild();
  });

  it('builds the policy lists on the first whole publish after a publisher that kept none', async () => {
    const [d1] = await destinations(1);
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' } }]);
    // A publisher from before policy lists: the whole snapshot and shards, no lists.
    const version = await policies.currentVersion();
    await snapshots.write(encodeSnapshot(buildSnapshot(version, await policies.listEgressPolicies())));
    expect((await snapshots.readPointer())?.policyIndex).toBeUndefined();

    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a2' }, destination: { id: d1?.id ?? '' } }]);
    const first = await publish(await changesOfCurrent());
    expect(first).toMatchObject({ how: 'whole', whyWhole: expect.stringMatching(/not complete/) });
    await expectStoredEqualsWholeBuild();

    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a3' }, destination: { id: d1?.id ?? '' } }]);
    expect((await publish(await changesOfCurrent())).how).toBe('changes');
    await expectStoredEqualsWholeBuild();
  });

  it('diffs a whole publish in another container against the stored shards of a pointer without a snapshot', async () => {
    const [d1] = await destinations(1);
    for (const id of ['a1', 'a2', 'a3']) {
      await policies.createEgressPolicies([{ source: { type: 'app', id }, destination: { id: d1?.id ?? '' } }]);
    }
    await publish(await changesOfCurrent());
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a4' }, destination: { id: d1?.id ?? '' } }]);
    expect((await publish(await changesOfCurrent())).how).toBe('changes');

    // A cold container (nothing remembered) publishes the whole state after an undescribed write.
    snapshots = shardedSnapshotStore(documentClient(table.client), table.tableName);
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a5' }, destination: { id: d1?.id ?? '' } }]);
    const current = await changesOfCurrent();
    const result = await publish(new Map([...current.keys()].map((version) => [version, undefined])));
    expect(result.how).toBe('whole');
    // Only a5 changed: not `all`, so cells read one shard, not all of theirs.
    expect((await snapshots.readChanges([result.version])).get(result.version)?.keys).toEqual(['app:a5']);
    await expectStoredEqualsWholeBuild();
  });

  it('writes a small change in one transaction, without the lease, and a large one under the lease', async () => {
    const client = documentClient(table.client);
    let transactions = 0;
    const counted = new ShardItems(client, table.tableName);
    const transact = counted.transact.bind(counted);
    counted.transact = (writes) => {
      transactions += 1;
      return transact(writes);
    };
    snapshots = new ShardedSnapshotStore(new DynamoDbSnapshotStore(client, table.tableName), counted);
    const [d1] = await destinations(1);
    await publish(await changesOfCurrent());
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' } }]);
    expect((await publish(await changesOfCurrent())).how).toBe('changes');
    expect(transactions).toBe(1);
    expect(await items.readLease()).toBeUndefined();

    // A group bound to 120 spaces touches 120 shards: more than one transaction holds.
    const spaces = Array.from({ length: 120 }, (_, index) => `space-${String(index).padStart(3, '0')}`);
    await groups.createSecurityGroup(group('wide', { ...NO_BINDINGS, running: { space: spaces, organization: [] } }));
    const wide = await publish(await changesOfCurrent());
    expect(wide.how).toBe('changes');
    expect(transactions).toBe(1);
    expect((await snapshots.readChanges([wide.version])).get(wide.version)?.keys).toHaveLength(120);
    await expectStoredEqualsWholeBuild();
  });

  it('never moves the pointer back when another publisher got in between its reads and its transaction', async () => {
    const [d1] = await destinations(1);
    await publish(await changesOfCurrent());
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' } }]);
    const first = await changesOfCurrent();
    await policies.createEgressPolicies([
      { source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' }, app_lifecycle: 'running' },
    ]);
    const both = new Map([...first, ...(await changesOfCurrent())]);
    const newest = Math.max(...both.keys());
    // Another container publishes both versions while this one is between its reads and its write.
    const other = shardedSnapshotStore(documentClient(table.client), table.tableName);
    let interleaved = false;
    const read = source.readDestinations;
    if (read === undefined) throw new Error('the source reads destinations');
    const slowed: PolicySource = {
      ...source,
      readDestinations: async (ids) => {
        if (!interleaved) {
          interleaved = true;
          expect(await publishSnapshot(source, other, { changes: both })).toMatchObject({
            how: 'changes',
            version: newest,
          });
        }
        return read(ids);
      },
    };
    expect(await publishSnapshot(slowed, snapshots, { changes: first })).toMatchObject({ how: 'none', written: false });
    expect((await snapshots.readPointer())?.version).toBe(newest);
    await expectStoredEqualsWholeBuild();
  });

  it('does not publish in one transaction while another publisher holds the lease', async () => {
    snapshots = shardedSnapshotStore(documentClient(table.client), table.tableName, { leaseWaitMs: 300 });
    const [d1] = await destinations(1);
    await publish(await changesOfCurrent());
    const before = await snapshots.readPointer();
    expect(await items.acquireLease('busy', Date.now(), 60_000)).toEqual([]);
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' } }]);
    const changes = await changesOfCurrent();
    await expect(publish(changes)).rejects.toThrow(/held the shard lease too long/);
    expect(await snapshots.readPointer()).toEqual(before);
    expect((await items.readShards(['app:a1'])).size).toBe(0);

    await items.releaseLease('busy');
    expect((await publish(changes)).how).toBe('changes');
    await expectStoredEqualsWholeBuild();
  });

  it('leaves an earlier holder’s unfinished intent to a whole publish', async () => {
    const [d1] = await destinations(1);
    await publish(await changesOfCurrent());
    // A holder that died after saying it would write app:a9.
    expect(await items.acquireLease('dead', 0, 1)).toEqual([]);
    await items.recordIntent('dead', ['app:a9']);
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'a1' }, destination: { id: d1?.id ?? '' } }]);
    const result = await publish(await changesOfCurrent());
    expect(result).toMatchObject({ how: 'whole', whyWhole: expect.stringMatching(/did not finish/) });
    expect((await snapshots.readChanges([result.version])).get(result.version)?.keys).toEqual(['app:a1', 'app:a9']);
    await expectStoredEqualsWholeBuild();
  });
});
