// The version record's `changes` against a real DynamoDB Local: every write records exactly what it
// changed, an undescribed write removes the previous description, and a destination update records
// the users it has at commit even when a policy came and another went between plan and commit.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { NO_BINDINGS } from '../../../core/domain/security-group.js';
import { MAX_DESCRIBED_CHANGES, versionChangesSchema } from '../../../core/domain/version-changes.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSecurityGroupStore } from '../../../core/store/security-group-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { VersionedWriter } from '../../../core/store/versioned-write.js';
import { LOCAL_CLIENT_CONFIG } from '../../../local/dynamodb-local.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';
import { groupInput, tcpDestination } from '../../helpers/fixtures.js';

const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A fresh table per test: the version record is the test's own. */
async function setUp() {
  const table = await createTestTable();
  const client = documentClient(table.client);
  const tableName = table.tableName;
  const get = async (pk: string, sk: string) =>
    (await client.send(new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }))).Item;
  return {
    table,
    client,
    policies: new DynamoDbPolicyStore({ client, tableName }),
    groups: new DynamoDbSecurityGroupStore({ client, tableName }),
    writer: new VersionedWriter({ client, tableName }),
    get,
    /** The version record as stored: its number and its `changes` attribute, raw. */
    version: async () => {
      const item = await get('META', 'VERSION');
      return { version: item?.version, changes: item?.changes };
    },
    /** The shard keys of the users of a destination, from its guards, as they are now. */
    userKeys: async (destinationId: string) => {
      const { Items = [] } = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `DESTREF#${destinationId}` },
          ConsistentRead: true,
        }),
      );
      return Items.map((item) => String(item.sk).replace(/^(app|space)#([^#]+).*$/, '$1:$2')).sort();
    },
  };
}

/**
 * A document client on the same table that runs `rival` once, at a chosen point of a write: just
 * before its first transaction (the store has planned on what it read), or just after its first
 * query (it has read its destinations and their users). Counts the transactions sent.
 */
function interposed(
  table: TestTable,
  rival: () => Promise<unknown>,
  when: 'before the first transaction' | 'after the first query',
): { client: DynamoDBDocumentClient; transactions: () => number } {
  const client = documentClient(new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: table.endpoint }));
  let transactions = 0;
  let pending = true;
  client.middlewareStack.add(
    (next) => async (args) => {
      const input: unknown = args.input;
      const isObject = typeof input === 'object' && input !== null;
      if (isObject && 'TransactItems' in input) {
        transactions += 1;
        if (pending && when === 'before the first transaction') {
          pending = false;
          await rival();
        }
      }
      const output = await next(args);
      if (pending && isObject && 'KeyConditionExpression' in input && when === 'after the first query') {
        pending = false;
        await rival();
      }
      return output;
    },
    { step: 'initialize', name: 'rival' },
  );
  return { client, transactions: () => transactions };
}

const EMPTY = { added: [], removed: [], keys: [] };

describe('policy store writes', () => {
  it('records a destination create and delete as changing nothing', async () => {
    const { policies, version } = await setUp();
    const [d, e] = await policies.createDestinations([tcpDestination('vc-a'), tcpDestination('vc-b')]);
    if (!d || !e) throw new Error('setup');
    expect(await version()).toStrictEqual({ version: 1, changes: EMPTY });
    await policies.createEgressPolicies([{ source: { type: 'app', id: 'app-1' }, destination: { id: d.id } }]);
    await policies.deleteDestination(e.id);
    // The previous write's description is replaced, not left.
    expect(await version()).toStrictEqual({ version: 3, changes: EMPTY });
  });

  it('records the policies a create made, not those that existed', async () => {
    const { policies, version } = await setUp();
    const [d, e] = await policies.createDestinations([tcpDestination('vc-d'), tcpDestination('vc-e')]);
    if (!d || !e) throw new Error('setup');
    const existing = await policies.createEgressPolicies([
      { source: { type: 'app', id: 'app-1' }, destination: { id: d.id } },
    ]);
    const existingId = existing.policies[0]?.id;
    expect((await version()).changes).toStrictEqual({
      added: [{ id: existingId, source_type: 'app', source_id: 'app-1', destination_id: d.id }],
      removed: [],
      keys: [],
    });

    const created = await policies.createEgressPolicies([
      { source: { type: 'app', id: 'app-1' }, destination: { id: d.id } },
      { source: { type: 'app', id: 'app-1' }, destination: { id: d.id }, app_lifecycle: 'staging' },
      { source: { type: 'space', id: 'space-1' }, destination: { id: e.id }, app_lifecycle: 'all' },
      { source: { type: 'default', id: '' }, destination: { id: e.id } },
    ]);
    expect(created.created).toBe(3);
    const [again, staging, space, fallback] = created.policies;
    expect(again?.id).toBe(existingId);
    expect(await version()).toStrictEqual({
      version: 3,
      changes: {
        added: [
          {
            id: staging?.id,
            source_type: 'app',
            source_id: 'app-1',
            destination_id: d.id,
            app_lifecycle: 'staging',
          },
          { id: space?.id, source_type: 'space', source_id: 'space-1', destination_id: e.id },
          { id: fallback?.id, source_type: 'default', source_id: '', destination_id: e.id },
        ],
        removed: [],
        keys: [],
      },
    });
    // Creating only what exists writes nothing: the version and its description stay.
    await policies.createEgressPolicies([{ source: { type: 'space', id: 'space-1' }, destination: { id: e.id } }]);
    expect((await version()).version).toBe(3);
  });

  it('records the policy a delete removed', async () => {
    const { policies, version } = await setUp();
    const [d] = await policies.createDestinations([tcpDestination('vc-del')]);
    if (!d) throw new Error('setup');
    const { policies: created } = await policies.createEgressPolicies([
      { source: { type: 'app', id: 'app-9' }, destination: { id: d.id }, app_lifecycle: 'running' },
    ]);
    const id = created[0]?.id ?? '';
    await policies.deleteEgressPolicy(id);
    expect(await version()).toStrictEqual({
      version: 3,
      changes: {
        added: [],
        removed: [{ id, source_type: 'app', source_id: 'app-9', destination_id: d.id, app_lifecycle: 'running' }],
        keys: [],
      },
    });
  });

  it("records the shards of an updated destination's users, and keeps its counters", async () => {
    const { policies, version, get } = await setUp();
    const [d, e, unused] = await policies.createDestinations([
      tcpDestination('vc-u1'),
      tcpDestination('vc-u2'),
      tcpDestination('vc-u3'),
    ]);
    if (!d || !e || !unused) throw new Error('setup');
    const { policies: created } = await policies.createEgressPolicies([
      { source: { type: 'app', id: 'app-1' }, destination: { id: d.id } },
      { source: { type: 'app', id: 'app-1' }, destination: { id: d.id }, app_lifecycle: 'running' },
      { source: { type: 'space', id: 'space-1' }, destination: { id: d.id }, app_lifecycle: 'staging' },
      { source: { type: 'default', id: '' }, destination: { id: e.id }, app_lifecycle: 'staging' },
      { source: { type: 'app', id: 'app-2' }, destination: { id: e.id } },
    ]);
    await policies.deleteEgressPolicy(created[4]?.id ?? '');

    // A content change of one, a rename of another, one without users.
    await policies.updateDestinations([
      { ...d, ports: [{ start: 8443, end: 8443 }] },
      { ...e, name: 'vc-u2-renamed' },
      { ...unused, ports: [{ start: 80, end: 80 }] },
    ]);
    expect(await version()).toStrictEqual({
      version: 4,
      changes: { added: [], removed: [], keys: ['app:app-1', 'global', 'space:space-1'] },
    });
    // The rewrite keeps both counters. ref_writes counts writes, not policies: d had one create (of
    // 3 policies), e a create and a delete.
    expect(await get('DEST', d.id)).toMatchObject({ refs: 3, ref_writes: 1, ports: [{ start: 8443, end: 8443 }] });
    expect(await get('DEST', e.id)).toMatchObject({ refs: 1, ref_writes: 2, name: 'vc-u2-renamed' });
    expect(await get('DEST', unused.id)).not.toHaveProperty('ref_writes');

    await policies.updateDestinations([{ ...unused, ports: [{ start: 81, end: 81 }] }]);
    expect((await version()).changes).toStrictEqual(EMPTY);
  });

  it('updates a destination written before ref_writes existed, and counts from there', async () => {
    const { policies, client, table, version, get } = await setUp();
    await client.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { pk: 'DEST', sk: 'legacy', id: 'legacy', ...tcpDestination('vc-legacy'), refs: 0 },
      }),
    );
    await client.send(
      new PutCommand({ TableName: table.tableName, Item: { pk: 'DESTNAME', sk: 'vc-legacy', id: 'legacy' } }),
    );
    const legacy = { id: 'legacy', ...tcpDestination('vc-legacy') };
    await policies.updateDestinations([{ ...legacy, ports: [{ start: 22, end: 22 }] }]);
    expect((await version()).changes).toStrictEqual(EMPTY);
    expect(await get('DEST', 'legacy')).not.toHaveProperty('ref_writes');

    await policies.createEgressPolicies([{ source: { type: 'space', id: 'space-7' }, destination: { id: 'legacy' } }]);
    expect(await get('DEST', 'legacy')).toMatchObject({ refs: 1, ref_writes: 1 });
    await policies.updateDestinations([legacy]);
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: ['space:space-7'] });
  });
});

describe('a destination update racing policy writes', () => {
  // Between the update's reads and its commit, one user comes and one goes: `refs` is what it read.
  for (const when of ['before the first transaction', 'after the first query'] as const) {
    it(`records the users at commit when a policy came and another went ${when}`, async () => {
      const { table, policies, version, userKeys } = await setUp();
      const [d] = await policies.createDestinations([tcpDestination('vc-race')]);
      if (!d) throw new Error('setup');
      const { policies: created } = await policies.createEgressPolicies([
        { source: { type: 'space', id: 'stays' }, destination: { id: d.id } },
        { source: { type: 'app', id: 'goes' }, destination: { id: d.id } },
      ]);
      const goes = created[1]?.id ?? '';
      const racing = interposed(
        table,
        async () => {
          await policies.createEgressPolicies([{ source: { type: 'app', id: 'comes' }, destination: { id: d.id } }]);
          await policies.deleteEgressPolicy(goes);
        },
        when,
      );
      const racingStore = new DynamoDbPolicyStore({ client: racing.client, tableName: table.tableName });

      await racingStore.updateDestinations([{ ...d, ports: [{ start: 8080, end: 8080 }] }]);

      // The first commit was refused and the update planned again on the new users.
      expect(racing.transactions()).toBe(2);
      expect(await userKeys(d.id)).toEqual(['app:comes', 'space:stays']);
      expect(await version()).toStrictEqual({
        version: 5,
        changes: { added: [], removed: [], keys: ['app:comes', 'space:stays'] },
      });
    });
  }
});

describe('security group writes', () => {
  it('records the shards of the bindings before and after each write', async () => {
    const { groups, version } = await setUp();
    const group = await groups.createSecurityGroup(
      groupInput('vc-sg', {
        globallyEnabled: { running: false, staging: true },
        bindings: {
          running: { space: [guid(2)], organization: [] },
          staging: { space: [], organization: [guid(1)] },
        },
      }),
    );
    const initial = ['global', `organization:${guid(1)}`, `space:${guid(2)}`];
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: initial });

    // Rules only: the group still applies where it is bound.
    await groups.updateSecurityGroup(group.guid, { rules: [] });
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: initial });

    // Globally disabled: the global shard loses it, so it is touched.
    await groups.updateSecurityGroup(group.guid, { globallyEnabled: { staging: false } });
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: initial });
    await groups.updateSecurityGroup(group.guid, { name: 'vc-sg-renamed' });
    const bound = [`organization:${guid(1)}`, `space:${guid(2)}`];
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: bound });

    await groups.bind(group.guid, 'staging', 'space', [guid(3)]);
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: [...bound, `space:${guid(3)}`] });
    await groups.unbind(group.guid, 'running', 'space', guid(2));
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: [...bound, `space:${guid(3)}`] });

    await groups.deleteSecurityGroup(group.guid);
    expect(await version()).toStrictEqual({
      version: 7,
      changes: { added: [], removed: [], keys: [`organization:${guid(1)}`, `space:${guid(3)}`] },
    });
  });

  it('records an unbound group as touching no shard', async () => {
    const { groups, version } = await setUp();
    const group = await groups.createSecurityGroup(groupInput('vc-unbound'));
    await groups.updateSecurityGroup(group.guid, { rules: [] });
    expect((await version()).changes).toStrictEqual(EMPTY);
  });
});

describe('undescribed writes', () => {
  it('remove the previous description: a plan without one, and one too large', async () => {
    const { writer, version } = await setUp();
    const put = (sk: string) => writer.put({ pk: 'TEST', sk }, 'attribute_not_exists(pk)');
    const described = { added: [], removed: [], keys: ['app:a'] };
    await writer.write(async () => ({ items: [put('1')], result: undefined, changes: described }));
    expect(await version()).toStrictEqual({ version: 1, changes: described });

    await writer.write(async () => ({ items: [put('2')], result: undefined }));
    expect(await version()).toStrictEqual({ version: 2, changes: undefined });

    await writer.write(async () => ({ items: [put('3')], result: undefined, changes: described }));
    const tooMany = Array.from({ length: MAX_DESCRIBED_CHANGES + 1 }, (_, n) => `app:${n}`);
    await writer.write(async () => ({
      items: [put('4')],
      result: undefined,
      changes: { added: [], removed: [], keys: tooMany },
    }));
    expect(await version()).toStrictEqual({ version: 4, changes: undefined });

    // Exactly at the limit is still described.
    const atLimit = tooMany.slice(1);
    await writer.write(async () => ({
      items: [put('5')],
      result: undefined,
      changes: { ...described, keys: atLimit },
    }));
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: atLimit });
  });

  it('store only the fields of a policy, and read back with the schema', async () => {
    const { writer, version } = await setUp();
    const policy = {
      id: 'p',
      source_type: 'app' as const,
      source_id: 'a',
      destination_id: 'd',
      app_lifecycle: undefined,
      extra: 'not stored',
    };
    await writer.write(async () => ({
      items: [writer.put({ pk: 'TEST', sk: 'x' }, 'attribute_not_exists(pk)')],
      result: undefined,
      changes: { added: [policy], removed: [], keys: [] },
    }));
    const { changes } = await version();
    expect(changes).toStrictEqual({
      added: [{ id: 'p', source_type: 'app', source_id: 'a', destination_id: 'd' }],
      removed: [],
      keys: [],
    });
    expect(versionChangesSchema.safeParse(changes).success).toBe(true);
  });

  it('remove it for a security group bound to too many shards', async () => {
    const { groups, version } = await setUp();
    await groups.createSecurityGroup(groupInput('vc-small', { globallyEnabled: { running: true, staging: false } }));
    expect((await version()).changes).toStrictEqual({ added: [], removed: [], keys: ['global'] });
    const spaces = Array.from({ length: MAX_DESCRIBED_CHANGES + 1 }, (_, n) => guid(n));
    await groups.createSecurityGroup(
      groupInput('vc-wide', { bindings: { ...NO_BINDINGS, running: { space: spaces, organization: [] } } }),
    );
    expect(await version()).toStrictEqual({ version: 2, changes: undefined });
  });
});
