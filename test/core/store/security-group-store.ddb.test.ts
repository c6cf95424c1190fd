// The security group store against a real DynamoDB Local: names unique under races, no lost
// bindings under concurrent writers, every write one version, refused writes leaving the table as
// it was, the item size limit and damaged items. Each test gets a fresh table, so lists and version
// counts are its own.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  IntegrityError,
  NameConflictError,
  NotBoundError,
  NotFoundError,
  ValidationError,
} from '../../../core/domain/errors.js';
import { completedJob } from '../../../core/domain/jobs.js';
import { NO_BINDINGS } from '../../../core/domain/security-group.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbJobStore } from '../../../core/store/job-store.js';
import {
  DynamoDbSecurityGroupStore,
  type DynamoDbSecurityGroupStoreOptions,
  MAX_SECURITY_GROUP_ITEM_BYTES,
} from '../../../core/store/security-group-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { LOCAL_CLIENT_CONFIG } from '../../../local/dynamodb-local.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';
import { groupInput } from '../../helpers/fixtures.js';

const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function setUp(options: Partial<DynamoDbSecurityGroupStoreOptions> = {}) {
  const table = await createTestTable();
  const client = documentClient(table.client);
  const store = new DynamoDbSecurityGroupStore({ client, tableName: table.tableName, ...options });
  const policies = new DynamoDbPolicyStore({ client, tableName: table.tableName });
  return {
    table,
    client,
    store,
    version: () => policies.currentVersion(),
    /** Every item of the table, in key order: what a refused write must leave as it was. */
    items: async () => {
      const { Items = [] } = await client.send(new ScanCommand({ TableName: table.tableName, ConsistentRead: true }));
      const keyOf = (item: Record<string, unknown>) => `${String(item.pk)}\u0000${String(item.sk)}`;
      return Items.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    },
    put: (item: Record<string, unknown>) => client.send(new PutCommand({ TableName: table.tableName, Item: item })),
  };
}

/**
 * A document client on the same table that runs `rival` just before its first transaction is sent:
 * the store has planned on what it read, and someone else gets in between, every time.
 */
function interposed(table: TestTable, rival: () => Promise<unknown>): DynamoDBDocumentClient {
  const client = documentClient(new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: table.endpoint }));
  let pending = true;
  client.middlewareStack.add(
    (next) => async (args) => {
      const input: unknown = args.input;
      if (pending && typeof input === 'object' && input !== null && 'TransactItems' in input) {
        pending = false;
        await rival();
      }
      return next(args);
    },
    { step: 'initialize', name: 'rival' },
  );
  return client;
}

/** The error `promise` rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('create, get and list', () => {
  it('stores what it returns: bindings sorted without repeats, rules without absent fields', async () => {
    const { store } = await setUp();
    const created = await store.createSecurityGroup(
      groupInput('public-https', {
        globallyEnabled: { running: true, staging: false },
        rules: [
          { protocol: 'tcp', destination: '0.0.0.0/0', ports: '443', description: undefined },
          { protocol: 'icmp', destination: '10.0.0.0-10.0.0.255', type: 0, code: -1, log: true },
        ],
        bindings: {
          running: { space: [guid(3), guid(1), guid(3)], organization: [] },
          staging: { space: [], organization: [guid(2)] },
        },
      }),
    );
    expect(created.guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created.createdAt).toBe(created.updatedAt);
    expect(created.bindings).toEqual({
      running: { space: [guid(1), guid(3)], organization: [] },
      staging: { space: [], organization: [guid(2)] },
    });
    expect(JSON.stringify(created.rules)).toBe(
      '[{"protocol":"tcp","destination":"0.0.0.0/0","ports":"443"},' +
        '{"protocol":"icmp","destination":"10.0.0.0-10.0.0.255","type":0,"code":-1,"log":true}]',
    );
    expect(await store.getSecurityGroup(created.guid)).toEqual(created);
  });

  it('lists by creation time, then guid', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const guids = [guid(5), guid(2), guid(9), guid(1)];
    // The second and third share a creation time: the smaller guid comes first.
    const times = [start + 2000, start + 1000, start + 1000, start];
    const { store } = await setUp({
      newGuid: () => guids.shift() ?? 'unexpected',
      now: () => new Date(times.shift() ?? Number.NaN),
    });
    for (const name of ['c', 'b2', 'b1', 'a']) await store.createSecurityGroup(groupInput(name));
    expect((await store.listSecurityGroups()).map((group) => [group.name, group.guid])).toEqual([
      ['a', guid(1)],
      ['b2', guid(2)],
      ['b1', guid(9)],
      ['c', guid(5)],
    ]);
  });

  it('answers an unknown guid with NotFoundError, also one that could never be a key', async () => {
    const { store } = await setUp();
    for (const unknown of [guid(404), '', 'x'.repeat(2000)]) {
      const error = await rejection(store.getSecurityGroup(unknown));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ message: 'Security group not found', ids: [unknown] });
    }
    expect(await store.listSecurityGroups()).toEqual([]);
  });
});

describe('names', () => {
  it("refuses a taken name with CF's text and leaves the table as it was", async () => {
    const { store, items, version } = await setUp();
    await store.createSecurityGroup(groupInput('taken'));
    const [before, versionBefore] = [await items(), await version()];
    const error = await rejection(store.createSecurityGroup(groupInput('taken')));
    expect(error).toBeInstanceOf(NameConflictError);
    expect(error).toMatchObject({ message: "Security group with name 'taken' already exists.", names: ['taken'] });
    expect(await items()).toEqual(before);
    expect(await version()).toBe(versionBefore);
  });

  it('gives one winner among 10 concurrent creates of one name; the others get NameConflictError', async () => {
    const { store, items } = await setUp();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.createSecurityGroup(groupInput('race'))),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(NameConflictError);
    }
    expect(await store.listSecurityGroups()).toHaveLength(1);
    // One group, one name guard, one version record.
    expect(await items()).toHaveLength(3);
  });

  it('gives one winner among concurrent renames to one name; the losers keep theirs', async () => {
    const { store } = await setUp();
    const groups = await Promise.all(
      ['r1', 'r2', 'r3', 'r4', 'r5'].map((name) => store.createSecurityGroup(groupInput(name))),
    );
    const results = await Promise.allSettled(
      groups.map((group) => store.updateSecurityGroup(group.guid, { name: 'renamed' })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(NameConflictError);
    }
    const names = (await store.listSecurityGroups()).map((group) => group.name).sort();
    expect(names.filter((name) => name === 'renamed')).toHaveLength(1);
    expect(names).toHaveLength(5);
    // Every name still listed is held: none can be taken again.
    for (const name of names) {
      await expect(store.createSecurityGroup(groupInput(name))).rejects.toThrow(NameConflictError);
    }
  });

  it('turns a name claimed between its read and its commit into NameConflictError, at once', async () => {
    const { table, put, items, version } = await setUp();
    const rivalGuard = { pk: 'SGNAME', sk: 'contested', guid: guid(7) };
    const store = new DynamoDbSecurityGroupStore({
      client: interposed(table, () => put(rivalGuard)),
      tableName: table.tableName,
      sleep: () => expect.fail('a name taken is an answer, not a race to retry'),
    });
    const error = await rejection(store.createSecurityGroup(groupInput('contested')));
    expect(error).toBeInstanceOf(NameConflictError);
    expect(error).toMatchObject({ message: "Security group with name 'contested' already exists." });
    expect(await items()).toEqual([rivalGuard]);
    expect(await version()).toBe(0);
  });
});

describe('update', () => {
  it('replaces rules, merges globally_enabled key by key and moves updated_at only', async () => {
    const times = ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'];
    const { store } = await setUp({ now: () => new Date(times.shift() ?? 'invalid') });
    const created = await store.createSecurityGroup(
      groupInput('merge', {
        globallyEnabled: { running: true, staging: false },
        rules: [
          { protocol: 'tcp', destination: '10.0.0.1', ports: '80' },
          { protocol: 'udp', destination: '10.0.0.2', ports: '53' },
        ],
        bindings: { ...NO_BINDINGS, running: { space: [guid(1)], organization: [] } },
      }),
    );
    const updated = await store.updateSecurityGroup(created.guid, {
      globallyEnabled: { staging: true },
      rules: [{ protocol: 'all', destination: '10.1.0.0/16' }],
    });
    expect(updated).toEqual({
      ...created,
      updatedAt: '2026-01-02T00:00:00.000Z',
      globallyEnabled: { running: true, staging: true },
      rules: [{ protocol: 'all', destination: '10.1.0.0/16' }],
    });
    expect(await store.getSecurityGroup(created.guid)).toEqual(updated);

    const off = await store.updateSecurityGroup(created.guid, { globallyEnabled: { running: false } });
    expect(off.globallyEnabled).toEqual({ running: false, staging: true });
    expect(off.rules).toEqual(updated.rules);
    expect(off.updatedAt).toBe('2026-01-03T00:00:00.000Z');
    expect(off.createdAt).toBe(created.createdAt);
  });

  it('renames, freeing the old name and holding the new one', async () => {
    const { store } = await setUp();
    const group = await store.createSecurityGroup(groupInput('old-name'));
    expect((await store.updateSecurityGroup(group.guid, { name: 'new-name' })).name).toBe('new-name');
    await expect(store.createSecurityGroup(groupInput('new-name'))).rejects.toThrow(NameConflictError);
    expect((await store.createSecurityGroup(groupInput('old-name'))).name).toBe('old-name');
    // Renaming to its own name is no rename.
    expect((await store.updateSecurityGroup(group.guid, { name: 'new-name' })).name).toBe('new-name');
  });

  it('refuses a rename onto a taken name and an unknown guid, changing nothing', async () => {
    const { store, items, version } = await setUp();
    const group = await store.createSecurityGroup(groupInput('mine'));
    await store.createSecurityGroup(groupInput('theirs'));
    const [before, versionBefore] = [await items(), await version()];
    await expect(store.updateSecurityGroup(group.guid, { name: 'theirs', rules: [] })).rejects.toThrow(
      "Security group with name 'theirs' already exists.",
    );
    await expect(store.updateSecurityGroup(guid(404), { name: 'other' })).rejects.toThrow(NotFoundError);
    expect(await items()).toEqual(before);
    expect(await version()).toBe(versionBefore);
  });

  it('writes an update that changes nothing, as CF does: new updated_at, next version', async () => {
    const times = ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z'];
    const { store, version } = await setUp({ now: () => new Date(times.shift() ?? Number.NaN) });
    const group = await store.createSecurityGroup(groupInput('same'));
    const after = await store.updateSecurityGroup(group.guid, {});
    expect(after).toEqual({ ...group, updatedAt: '2026-01-01T00:00:02.000Z' });
    expect(await version()).toBe(2);
  });
});

describe('bind and unbind', () => {
  it('adds as a sorted set, keeps what is bound, and writes nothing when nothing is new', async () => {
    const { store, version, items } = await setUp();
    const group = await store.createSecurityGroup(groupInput('bound'));
    const once = await store.bind(group.guid, 'staging', 'organization', [guid(3), guid(1)]);
    const twice = await store.bind(group.guid, 'staging', 'organization', [guid(2), guid(3)]);
    expect(twice.bindings).toEqual({
      ...NO_BINDINGS,
      staging: { space: [], organization: [guid(1), guid(2), guid(3)] },
    });
    // Bindings are relations, not attributes: updated_at stays, as in CF.
    expect(twice.updatedAt).toBe(group.updatedAt);
    expect(once.bindings.staging.organization).toEqual([guid(1), guid(3)]);
    expect(await version()).toBe(3);

    const before = await items();
    expect(await store.bind(group.guid, 'staging', 'organization', [guid(1), guid(2)])).toEqual(twice);
    expect(await store.bind(group.guid, 'running', 'space', [])).toEqual(twice);
    expect(await items()).toEqual(before);
    expect(await version()).toBe(3);
  });

  it('removes one binding, and refuses one that is not bound with NotBoundError', async () => {
    const { store, version, items } = await setUp();
    const group = await store.createSecurityGroup(groupInput('unbind'));
    await store.bind(group.guid, 'running', 'space', [guid(1), guid(2)]);
    const after = await store.unbind(group.guid, 'running', 'space', guid(1));
    expect(after.bindings.running.space).toEqual([guid(2)]);
    expect(await store.getSecurityGroup(group.guid)).toEqual(after);
    expect(await version()).toBe(3);

    const before = await items();
    const error = await rejection(store.unbind(group.guid, 'running', 'space', guid(1)));
    expect(error).toBeInstanceOf(NotBoundError);
    expect(error).toMatchObject({
      message: `Unable to unbind security group from space with guid '${guid(1)}'. Ensure the space is bound to this security group.`,
      targetGuid: guid(1),
    });
    // Bound to the space for running only: not bound for staging, nor as an organisation.
    await expect(store.unbind(group.guid, 'staging', 'space', guid(2))).rejects.toThrow(NotBoundError);
    await expect(store.unbind(group.guid, 'running', 'organization', guid(2))).rejects.toThrow(
      `Unable to unbind security group from organization with guid '${guid(2)}'. Ensure the organization is bound to this security group.`,
    );
    await expect(store.bind(guid(404), 'running', 'space', [guid(1)])).rejects.toThrow(NotFoundError);
    await expect(store.unbind(guid(404), 'running', 'space', guid(1))).rejects.toThrow(NotFoundError);
    expect(await items()).toEqual(before);
    expect(await version()).toBe(3);
  });

  it('loses no binding among 12 concurrent writers on one group', async () => {
    const { store, version } = await setUp();
    const group = await store.createSecurityGroup(groupInput('busy'));
    const lifecycles = ['running', 'staging'] as const;
    const targets = ['space', 'organization'] as const;
    await Promise.all(
      Array.from({ length: 12 }, (_, writer) =>
        store.bind(group.guid, lifecycles[writer % 2] ?? 'running', targets[(writer >> 1) % 2] ?? 'space', [
          guid(writer),
        ]),
      ),
    );
    const { bindings } = await store.getSecurityGroup(group.guid);
    expect(bindings).toEqual({
      running: { space: [guid(0), guid(4), guid(8)], organization: [guid(2), guid(6), guid(10)] },
      staging: { space: [guid(1), guid(5), guid(9)], organization: [guid(3), guid(7), guid(11)] },
    });
    expect(await version()).toBe(13);
  });

  it('plans again on fresh data when another writer got in between its read and its commit', async () => {
    const { table, store: rival, version } = await setUp();
    const group = await rival.createSecurityGroup(groupInput('interposed'));
    const pauses: number[] = [];
    const store = new DynamoDbSecurityGroupStore({
      client: interposed(table, () => rival.bind(group.guid, 'running', 'space', [guid(1)])),
      tableName: table.tableName,
      sleep: async (ms) => {
        pauses.push(ms);
      },
    });
    const after = await store.bind(group.guid, 'running', 'space', [guid(2)]);
    expect(after.bindings.running.space).toEqual([guid(1), guid(2)]);
    expect(pauses).toHaveLength(1);
    expect(await version()).toBe(3);
  });
});

describe('delete', () => {
  it('removes the group and its name guard, and frees the name', async () => {
    const { store, items, version } = await setUp();
    const group = await store.createSecurityGroup(groupInput('doomed'));
    await store.bind(group.guid, 'running', 'space', [guid(1)]);
    const bound = await store.getSecurityGroup(group.guid);
    expect(await store.deleteSecurityGroup(group.guid)).toEqual(bound);
    expect((await items()).filter((item) => item.pk !== 'META')).toEqual([]);
    expect(await version()).toBe(3);
    await expect(store.getSecurityGroup(group.guid)).rejects.toThrow(NotFoundError);
    await expect(store.deleteSecurityGroup(group.guid)).rejects.toThrow(NotFoundError);
    expect(await version()).toBe(3);
    expect((await store.createSecurityGroup(groupInput('doomed'))).name).toBe('doomed');
  });

  it('records the job that reports it in the same transaction, and none when the delete is refused', async () => {
    const { store, client, table, items } = await setUp();
    const jobs = new DynamoDbJobStore(client, table.tableName);
    const group = await store.createSecurityGroup(groupInput('with-job'));
    const job = completedJob('security_group.delete', new Date('2026-12-04T10:00:00.000Z'));
    await store.deleteSecurityGroup(group.guid, job);
    expect(await jobs.getJob(job.guid)).toEqual(job);

    const before = await items();
    const refused = completedJob('security_group.delete');
    await expect(store.deleteSecurityGroup(group.guid, refused)).rejects.toThrow(NotFoundError);
    await expect(jobs.getJob(refused.guid)).rejects.toThrow(NotFoundError);
    expect(await items()).toEqual(before);
  });
});

describe('versions', () => {
  it('advances the version by exactly one per write', async () => {
    const { store, version } = await setUp();
    const steps: Array<() => Promise<unknown>> = [];
    const group = await store.createSecurityGroup(groupInput('v'));
    steps.push(
      () => store.updateSecurityGroup(group.guid, { name: 'v2' }),
      () => store.bind(group.guid, 'staging', 'space', [guid(1)]),
      () => store.unbind(group.guid, 'staging', 'space', guid(1)),
      () => store.deleteSecurityGroup(group.guid),
    );
    expect(await version()).toBe(1);
    for (const [index, step] of steps.entries()) {
      await step();
      expect(await version()).toBe(index + 2);
    }
  });
});

describe('the item size limit', () => {
  /** `count` /32 networks, comma-separated: about 16 bytes each. */
  const manyAddresses = (count: number, third = 0) =>
    Array.from({ length: count }, (_, i) => `10.${third}.${i >> 8}.${i % 256}/32`).join(',');

  it('refuses a group too large for one item before writing, saying so', async () => {
    const { store, items, version } = await setUp();
    const error = await rejection(
      store.createSecurityGroup(
        groupInput('huge', { rules: [{ protocol: 'tcp', destination: manyAddresses(30_000), ports: '443' }] }),
      ),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      message: expect.stringMatching(
        /^security group "huge" is too large to store: about \d+ bytes .* more than the 389120 .* 400 KB per item/,
      ),
    });
    expect(await items()).toEqual([]);
    expect(await version()).toBe(0);
  });

  it('refuses the update and the bind that would push a stored group over it, changing nothing', async () => {
    const { store, items, version } = await setUp();
    const group = await store.createSecurityGroup(
      groupInput('growing', { rules: [{ protocol: 'tcp', destination: manyAddresses(20_000), ports: '443' }] }),
    );
    const before = await items();
    await expect(
      store.updateSecurityGroup(group.guid, {
        rules: [{ protocol: 'tcp', destination: manyAddresses(30_000), ports: '443' }],
      }),
    ).rejects.toThrow(/too large to store/);
    const spaces = Array.from({ length: 3_000 }, (_, i) => guid(i));
    await expect(store.bind(group.guid, 'running', 'space', spaces)).rejects.toThrow(/too large to store/);
    expect(await items()).toEqual(before);
    expect(await version()).toBe(1);
  });

  it('stores a group just under the limit: the estimate never lets DynamoDB refuse one', async () => {
    const { store } = await setUp();
    const group = await store.createSecurityGroup(groupInput('edge'));
    // Bindings up to just under the limit: DynamoDB takes what the estimate lets through.
    const spaces = Array.from({ length: Math.floor(MAX_SECURITY_GROUP_ITEM_BYTES / 39) - 20 }, (_, i) => guid(i));
    const bound = await store.bind(group.guid, 'running', 'space', spaces);
    expect(bound.bindings.running.space).toHaveLength(spaces.length);
    await expect(store.bind(group.guid, 'running', 'organization', spaces.slice(0, 40))).rejects.toThrow(
      ValidationError,
    );
  });
});

describe('damaged items', () => {
  const goodItem = {
    pk: 'SG',
    sk: 'g1',
    guid: 'g1',
    name: 'n1',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    globally_enabled_running: false,
    globally_enabled_staging: false,
    rules: [{ protocol: 'tcp', destination: '10.0.0.1', ports: '443' }],
    running_spaces: [],
    running_organizations: [],
    staging_spaces: [],
    staging_organizations: [],
    revision: 1,
  };

  it('reads a well-formed item written by hand', async () => {
    const { store, put } = await setUp();
    await put(goodItem);
    expect((await store.getSecurityGroup('g1')).rules).toEqual(goodItem.rules);
  });

  it('refuses an item with an unknown protocol or a missing list on every read, and writes nothing', async () => {
    const { store, put, version } = await setUp();
    await put({ ...goodItem, rules: [{ protocol: 'sctp', destination: '10.0.0.1' }] });
    for (const read of [
      () => store.getSecurityGroup('g1'),
      () => store.listSecurityGroups(),
      () => store.updateSecurityGroup('g1', { name: 'n2' }),
      () => store.bind('g1', 'running', 'space', [guid(1)]),
    ]) {
      const error = await rejection(read());
      expect(error).toBeInstanceOf(IntegrityError);
      expect(error).toMatchObject({ key: { pk: 'SG', sk: 'g1' }, field: 'rules.0.protocol' });
    }
    const { staging_spaces: _, ...withoutList } = goodItem;
    await put(withoutList);
    expect(await rejection(store.getSecurityGroup('g1'))).toMatchObject({
      field: 'staging_spaces',
      problem: 'expected array',
    });
    expect(await version()).toBe(0);
  });

  it('refuses a damaged name guard when a create reads it', async () => {
    const { store, put } = await setUp();
    await put({ pk: 'SGNAME', sk: 'guarded', guid: 42 });
    expect(await rejection(store.createSecurityGroup(groupInput('guarded')))).toMatchObject({
      key: { pk: 'SGNAME', sk: 'guarded' },
      field: 'guid',
      problem: 'expected string',
    });
  });

  it('refuses a rename or delete at once when the name guard does not name the group (missing or another)', async () => {
    const { store, put, client, table, version } = await setUp();
    const group = await store.createSecurityGroup(groupInput('guarded'));
    const guard = { pk: 'SGNAME', sk: 'guarded' };
    const damaged = [
      () => client.send(new DeleteCommand({ TableName: table.tableName, Key: guard })),
      () => put({ ...guard, guid: 'another-group' }),
    ];
    for (const damage of damaged) {
      await damage();
      const before = await version();
      for (const write of [
        () => store.updateSecurityGroup(group.guid, { name: 'renamed' }),
        () => store.deleteSecurityGroup(group.guid),
      ]) {
        const started = Date.now();
        const error = await rejection(write());
        // Not a ContentionError after every retry: the damage is named, in well under the retries' time.
        expect(error).toBeInstanceOf(IntegrityError);
        expect(error).toMatchObject({
          key: guard,
          field: 'guid',
          problem: 'does not name the group that has this name',
        });
        expect(Date.now() - started).toBeLessThan(1000);
      }
      expect(await version()).toBe(before);
      expect((await store.getSecurityGroup(group.guid)).name).toBe('guarded');
    }
  });
});
