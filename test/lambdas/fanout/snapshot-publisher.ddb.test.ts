// The snapshot publisher on DynamoDB Local under writes that keep landing while it reads the list:
// it still publishes (under the version read before the list) and never moves the pointer back.
import { beforeEach, describe, expect, it } from 'vitest';
import { NO_BINDINGS } from '../../../core/domain/security-group.js';
import { buildSnapshot, encodeSnapshot, snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import type { SnapshotPointer } from '../../../core/domain/snapshot-store.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import { DynamoDbPolicyStore, type DynamoDbPolicyStoreOptions } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSecurityGroupStore } from '../../../core/store/security-group-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { publishedStateOf, publishSnapshot } from '../../../lambdas/fanout/snapshot-publisher.js';
import { createTestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';

/** A store where another writer commits a change right after each version read, before the list. */
class BusyPolicyStore extends DynamoDbPolicyStore {
  lists = 0;

  constructor(
    options: DynamoDbPolicyStoreOptions,
    private readonly afterWrite: (list: number) => Promise<void> = async () => undefined,
  ) {
    super(options);
  }

  override async listEgressPolicies(): Promise<EgressPolicy[]> {
    this.lists += 1;
    await this.createDestinations([tcpDestination(`concurrent-${this.lists}-${Math.random()}`)]);
    await this.afterWrite(this.lists);
    return super.listEgressPolicies();
  }
}

let options: DynamoDbPolicyStoreOptions;
let quiet: DynamoDbPolicyStore;
let snapshots: DynamoDbSnapshotStore;
let groups: DynamoDbSecurityGroupStore;

beforeEach(async () => {
  const table = await createTestTable();
  const client = documentClient(table.client);
  options = { client, tableName: table.tableName };
  quiet = new DynamoDbPolicyStore(options);
  snapshots = new DynamoDbSnapshotStore(client, table.tableName);
  groups = new DynamoDbSecurityGroupStore({ client, tableName: table.tableName });
  const [db] = await quiet.createDestinations([tcpDestination('publisher-db')]);
  await quiet.createEgressPolicies([{ source: { type: 'app', id: 'app-1' }, destination: { id: db?.id ?? '' } }]);
});

async function currentPointer(): Promise<SnapshotPointer> {
  const pointer = await snapshots.readPointer();
  if (!pointer) throw new Error('no snapshot published');
  return pointer;
}

describe('publishSnapshot', () => {
  it('publishes the exact state when no write lands during the list', async () => {
    const version = await quiet.currentVersion();
    expect(await publishSnapshot(publishedStateOf({ policies: quiet, securityGroups: groups }), snapshots)).toEqual({
      version,
      written: true,
      how: 'whole',
    });
  });

  it('publishes the security groups with the policies: a group write is a new version cells get', async () => {
    const before = await quiet.currentVersion();
    await groups.createSecurityGroup({
      name: 'public_networks_egress',
      globallyEnabled: { running: true, staging: false },
      rules: [{ protocol: 'all', destination: '0.0.0.0-9.255.255.255' }],
      bindings: NO_BINDINGS,
    });
    const version = await quiet.currentVersion();
    expect(version).toBe(before + 1);
    const state = publishedStateOf({ policies: quiet, securityGroups: groups });
    expect(await publishSnapshot(state, snapshots)).toEqual({ version, written: true, how: 'whole' });
    const published = await snapshots.read(await currentPointer());
    expect(published.security_groups).toEqual({
      rules: [{ protocol: 'all', ips: [{ start: '0.0.0.0', end: '9.255.255.255' }], ports: [] }],
      bindings: [['global', 'running', '', [0]]],
    });
    expect(published.sources).toHaveLength(1);
  });

  it('publishes despite a write landing between every version read and its list', async () => {
    const busy = new BusyPolicyStore(options);
    const result = await publishSnapshot(publishedStateOf({ policies: busy, securityGroups: groups }), snapshots);

    // Bounded retries, then the last list under the version read before it: one behind the table.
    expect(busy.lists).toBe(5);
    const newest = await quiet.currentVersion();
    expect(result).toEqual({ version: newest - 1, written: true, how: 'whole' });
    const pointer = await currentPointer();
    expect(pointer.version).toBe(newest - 1);
    // Everything up to that version is in it (the policy written before the publish started).
    const list = snapshotToPolicyList(await snapshots.read(pointer));
    expect(list.egress_policies.map((policy) => [policy.source.id, policy.destination.name])).toEqual([
      ['app-1', 'publisher-db'],
    ]);

    // The next batch (the newest write's stream record) publishes the newer version.
    expect(await publishSnapshot(publishedStateOf({ policies: quiet, securityGroups: groups }), snapshots)).toEqual({
      version: newest,
      written: true,
      how: 'whole',
    });
  });

  it('never moves the pointer back when a newer snapshot was published during its last list', async () => {
    const busy = new BusyPolicyStore(options, async (list) => {
      if (list < 5) return;
      // Another fan-out publishes the newest version while this one is reading its list.
      const version = await quiet.currentVersion();
      await snapshots.write(encodeSnapshot(buildSnapshot(version, await quiet.listEgressPolicies())));
    });
    const result = await publishSnapshot(publishedStateOf({ policies: busy, securityGroups: groups }), snapshots);
    const newest = await quiet.currentVersion();
    expect(result).toEqual({ version: newest - 1, written: false, how: 'whole' });
    expect((await currentPointer()).version).toBe(newest);
  });
});
