// The security group store against a mocked DynamoDB: what DynamoDB Local does not produce on
// demand, writers that keep losing and cancellations with chosen reasons. Sleep is injected.
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ContentionError, NameConflictError } from '../../../core/domain/errors.js';
import { NO_BINDINGS } from '../../../core/domain/security-group.js';
import { DynamoDbSecurityGroupStore } from '../../../core/store/security-group-store.js';

const TABLE = 'policies';

const storedGroup = {
  pk: 'SG',
  sk: 'g1',
  guid: 'g1',
  name: 'old',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  globally_enabled_running: false,
  globally_enabled_staging: false,
  rules: [],
  running_spaces: [],
  running_organizations: [],
  staging_spaces: [],
  staging_organizations: [],
  revision: 4,
};

function mockedStore() {
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  const ddb = mockClient(documents);
  const pauses: number[] = [];
  const store = new DynamoDbSecurityGroupStore({
    client: documents,
    tableName: TABLE,
    sleep: async (ms) => {
      pauses.push(ms);
    },
  });
  // The group exists and holds its name's guard; no other name is taken.
  ddb.on(GetCommand, { Key: { pk: 'SG', sk: 'g1' } }).resolves({ Item: storedGroup });
  ddb.on(GetCommand, { Key: { pk: 'SGNAME' } }).resolves({});
  ddb.on(GetCommand, { Key: { pk: 'SGNAME', sk: 'old' } }).resolves({ Item: { pk: 'SGNAME', sk: 'old', guid: 'g1' } });
  return { ddb, store, pauses };
}

/** A cancellation with one reason code per item of the transaction. */
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('DynamoDbSecurityGroupStore writes that lose the race', () => {
  it('plans a rename again when the new name guard was claimed meanwhile, and refuses it when another group holds it', async () => {
    const { ddb, store, pauses } = mockedStore();
    // group, new name guard, old name guard, version record
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed', 'None', 'None'));
    // The first plan finds the name free; the second finds another group holding it.
    ddb
      .on(GetCommand, { Key: { pk: 'SGNAME', sk: 'new' } })
      .resolvesOnce({})
      .resolves({ Item: { pk: 'SGNAME', sk: 'new', guid: 'g2' } });
    const error = await store.updateSecurityGroup('g1', { name: 'new' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NameConflictError);
    expect(error).toMatchObject({ message: "Security group with name 'new' already exists." });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(pauses).toHaveLength(1);
  });

  it('takes a rename whose name this group holds by now (the same rename, committed meanwhile) for no rename', async () => {
    const { ddb, store } = mockedStore();
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('ConditionalCheckFailed', 'None', 'None', 'None'))
      .resolves({});
    // The group read is older than the name read: the guard of `new` is this group's already.
    ddb
      .on(GetCommand, { Key: { pk: 'SGNAME', sk: 'new' } })
      .resolves({ Item: { pk: 'SGNAME', sk: 'new', guid: 'g1' } });
    ddb
      .on(GetCommand, { Key: { pk: 'SG', sk: 'g1' } })
      .resolvesOnce({ Item: storedGroup })
      .resolves({ Item: { ...storedGroup, name: 'new', revision: 5 } });
    expect((await store.updateSecurityGroup('g1', { name: 'new' })).name).toBe('new');
    const [, second] = ddb.commandCalls(TransactWriteCommand);
    // The plan made again writes the group only: no claim, no release.
    expect(second?.args[0].input.TransactItems).toHaveLength(2);
  });

  it('plans again when the group changed meanwhile, even on a rename', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('ConditionalCheckFailed', 'None', 'None', 'None'))
      .rejectsOnce(cancelled('None', 'TransactionConflict', 'None', 'None'))
      .resolves({});
    expect((await store.updateSecurityGroup('g1', { name: 'new' })).name).toBe('new');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
    // Planned on fresh reads each time.
    expect(ddb.commandCalls(GetCommand, { Key: { pk: 'SG', sk: 'g1' } })).toHaveLength(3);
    expect(pauses).toHaveLength(2);
  });

  it('writes the next revision, conditional on the one read, with the version in one transaction', async () => {
    const { ddb, store } = mockedStore();
    ddb.on(TransactWriteCommand).resolves({});
    await store.bind('g1', 'running', 'space', ['s2', 's1']);
    const [call] = ddb.commandCalls(TransactWriteCommand);
    const [group, version, ...rest] = call?.args[0].input.TransactItems ?? [];
    expect(rest).toEqual([]);
    expect(group?.Put).toMatchObject({
      Item: { revision: 5, running_spaces: ['s1', 's2'] },
      ConditionExpression: 'attribute_exists(pk) AND #revision = :revision',
      ExpressionAttributeValues: { ':revision': 4 },
    });
    expect(version?.Update).toMatchObject({ Key: { pk: 'META', sk: 'VERSION' }, UpdateExpression: expect.any(String) });
  });

  it('gives up after 20 attempts with ContentionError', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb.on(TransactWriteCommand).rejects(cancelled());
    const error = await store.bind('g1', 'running', 'space', ['s1']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContentionError);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(20);
    expect(pauses).toHaveLength(19);
  });

  it('throws any other failure at once', async () => {
    const { ddb, store, pauses } = mockedStore();
    ddb.on(TransactWriteCommand).rejects(new Error('ValidationException: something else'));
    await expect(
      store.createSecurityGroup({
        name: 'n',
        globallyEnabled: { running: false, staging: false },
        rules: [],
        bindings: NO_BINDINGS,
      }),
    ).rejects.toThrow(/something else/);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(pauses).toEqual([]);
  });
});
