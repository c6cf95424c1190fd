// The policy store on one DynamoDB table.
//
// Every write is one transaction whose items carry the conditions that keep the data whole: names
// and policies are unique (their guard items must not exist), a destination's `refs` counter counts
// the policies using it (a policy create or delete moves it; a destination is deleted only at 0),
// and an update only replaces what it read (same name, same counter). Planning, committing with +1
// on the version record, and planning again after a lost race are versioned-write.ts's. Each write
// also says what it changed (version-changes.ts): the policies it created or deleted, or for a
// destination update the shards of its users, which `ref_writes` keeps exact up to the commit.
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  IntegrityError,
  InUseError,
  NameConflictError,
  NotFoundError,
  UnknownReferenceError,
  ValidationError,
} from '../domain/errors.js';
import {
  type DestinationSpec,
  type DestinationUpdate,
  type EgressPolicyInput,
  isDestinationName,
  isIdentifier,
} from '../domain/schemas.js';
import type { ShardKey } from '../domain/shard-keys.js';
import type { CreatePoliciesResult, DestinationFilter, EgressPolicyFilter, PolicyStore } from '../domain/store.js';
import type { Destination, EgressPolicy } from '../domain/types.js';
import { NO_CHANGES, shardKeyOfPolicy } from '../domain/version-changes.js';
import type { Sleep } from '../retry.js';
import { batchGet, type Item, queryPartition, type TransactItem } from './dynamodb-io.js';
import {
  decodeDestination,
  decodeDestinationName,
  decodeDestinationRef,
  decodePolicy,
  decodeVersionRecord,
} from './item-schemas.js';
import {
  DESTINATION_PK,
  destinationItem,
  destinationKey,
  destinationNameKey,
  destinationRefKey,
  destinationRefPk,
  destinationRefSource,
  type Key,
  POLICY_PK,
  type PolicyItem,
  policyKey,
  toDestination,
  toPolicy,
  versionKey,
} from './items.js';
import { PARTITION_KEY } from './table-definition.js';
import { VersionedWriter } from './versioned-write.js';

/** How many users of a destination an "in use" error names before summarising. */
const MAX_NAMED_USERS = 20;
/**
 * Up to this many destinations a list reads by key (BatchGetItem, 100 a call); more, and it reads the
 * whole destination partition: a key costs a read unit each, a pass over the partition about one per
 * 4 KB of destinations (a dozen of them).
 */
export const DESTINATIONS_READ_BY_KEY = 1_000;

/** A destination's count of the policies that use it. */
const REFS = 'refs';
/** A destination's count of policy creates and deletes on it: unlike REFS, a create and a delete do not cancel out. */
const REF_WRITES = 'ref_writes';

export interface DynamoDbPolicyStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Id generator; injectable for tests. */
  readonly newId?: () => string;
  /** Pauses between retried writes and unprocessed-key rounds. @default a timer */
  readonly sleep?: Sleep;
  /** A policy list reads up to this many destinations by key, more by partition. @default DESTINATIONS_READ_BY_KEY */
  readonly destinationsReadByKey?: number;
}

export class DynamoDbPolicyStore implements PolicyStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly newId: () => string;
  private readonly destinationsReadByKey: number;
  private readonly sleep: Sleep | undefined;
  private readonly writer: VersionedWriter;

  constructor(options: DynamoDbPolicyStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.newId = options.newId ?? randomUUID;
    this.sleep = options.sleep;
    this.destinationsReadByKey = options.destinationsReadByKey ?? DESTINATIONS_READ_BY_KEY;
    this.writer = new VersionedWriter(options);
  }

  async currentVersion(): Promise<number> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: versionKey(), ConsistentRead: true }),
    );
    return decodeVersionRecord(result.Item).version;
  }

  async listDestinations(filter: DestinationFilter = {}): Promise<Destination[]> {
    if (filter.ids && filter.names) throw new ValidationError('filter by id or by name, not both');
    // A value that could never be stored matches nothing; looking it up could exceed DynamoDB's key size.
    if (filter.ids) return this.destinationsById(distinct(filter.ids).filter(isIdentifier));
    if (filter.names) {
      // The API stores names in NFC, so any spelling of one finds it; a name stored before that is
      // still found as it was written.
      const wanted = distinct(filter.names.flatMap((name) => [name.normalize('NFC'), name])).filter(isDestinationName);
      const names = await this.batchGet(wanted.map(destinationNameKey), decodeDestinationName);
      const idsByName = new Map(names.map(({ name, id }) => [name, id]));
      return this.destinationsById(wanted.flatMap((name) => idsByName.get(name) ?? []));
    }
    return (await this.query(DESTINATION_PK, decodeDestination)).map(({ destination }) => destination);
  }

  async createDestinations(specs: readonly DestinationSpec[]): Promise<Destination[]> {
    assertUnique(
      specs.map((spec) => spec.name),
      (name) => new NameConflictError(`destinations: name ${JSON.stringify(name)} appears more than once`, [name]),
    );
    return this.writer.write(async () => {
      const taken = await this.batchGet(
        specs.map((spec) => destinationNameKey(spec.name)),
        decodeDestinationName,
      );
      if (taken.length > 0) throw nameTaken(taken.map(({ name }) => name));
      const destinations = specs.map((spec) => ({ id: this.newId(), ...spec }));
      const items = destinations.flatMap((destination): TransactItem[] => [
        this.writer.put(destinationItem(destination, 0), `attribute_not_exists(${PARTITION_KEY})`),
        this.writer.put(
          { ...destinationNameKey(destination.name), id: destination.id },
          `attribute_not_exists(${PARTITION_KEY})`,
        ),
      ]);
      // Nothing uses a new destination yet.
      return { items, result: destinations.map(toDestination), changes: NO_CHANGES };
    });
  }

  async updateDestinations(updates: readonly DestinationUpdate[]): Promise<Destination[]> {
    assertUnique(
      updates.map((update) => update.id),
      (id) => new ValidationError(`destinations: id ${JSON.stringify(id)} appears more than once`),
    );
    assertUnique(
      updates.map((update) => update.name),
      (name) => new NameConflictError(`destinations: name ${JSON.stringify(name)} appears more than once`, [name]),
    );
    return this.writer.write(async () => {
      const stored = await this.batchGet(
        updates.map((update) => destinationKey(update.id)),
        decodeDestination,
      );
      const current = new Map(stored.map(({ destination }) => [destination.id, destination]));
      const read = new Map(stored.map((entry) => [entry.destination.id, entry]));
      const missing = updates.filter((update) => !current.has(update.id)).map((update) => update.id);
      if (missing.length > 0) throw new NotFoundError(`destination(s) not found: ${missing.join(', ')}`, missing);
      // The users, read after their destinations: a policy created or deleted since that read moved
      // ref_writes, which the write checks below, so the shards recorded are those of the users at commit.
      const keys = await this.userShardKeys(updates.map((update) => update.id));

      // Replace only what was read: same name, same users (a policy created or deleted meanwhile
      // moved the counters, and the write is planned again).
      const items: TransactItem[] = updates.map((update) => {
        const users = read.get(update.id)?.refs;
        const refWrites = read.get(update.id)?.refWrites;
        return this.writer.put(
          destinationItem(update, users ?? 0, refWrites),
          `attribute_exists(${PARTITION_KEY}) AND #name = :name` +
            ` AND ${users === undefined ? 'attribute_not_exists(#refs)' : '#refs = :refs'}` +
            ` AND ${refWrites === undefined ? 'attribute_not_exists(#rw)' : '#rw = :rw'}`,
          { '#name': 'name', '#refs': REFS, '#rw': REF_WRITES },
          {
            ':name': current.get(update.id)?.name,
            ...(users === undefined ? {} : { ':refs': users }),
            ...(refWrites === undefined ? {} : { ':rw': refWrites }),
          },
        );
      });
      items.push(...(await this.renameItems(updates, current)));
      return { items, result: updates.map(toDestination), changes: { added: [], removed: [], keys } };
    });
  }

  async deleteDestination(id: string): Promise<Destination> {
    return this.writer.write(async () => {
      const [destination] = await this.destinationsById([id]);
      if (!destination) throw new NotFoundError(`destination not found: ${id}`, [id]);
      const users = await this.query(destinationRefPk(id), decodeDestinationRef);
      if (users.length > 0) {
        const policyIds = users.map((user) => user.policyId);
        const named = policyIds.slice(0, MAX_NAMED_USERS).join(', ');
        const more = policyIds.length > MAX_NAMED_USERS ? ` and ${policyIds.length - MAX_NAMED_USERS} more` : '';
        throw new InUseError(`destination is still in use by egress policies: ${named}${more}`, policyIds);
      }
      await this.checkNameGuards([destination]);
      return {
        items: [
          this.writer.delete(
            destinationKey(id),
            `attribute_exists(${PARTITION_KEY}) AND (attribute_not_exists(#refs) OR #refs = :zero)`,
            { '#refs': REFS },
            { ':zero': 0 },
          ),
          this.writer.delete(destinationNameKey(destination.name), '#id = :id', { '#id': 'id' }, { ':id': id }),
        ],
        result: destination,
        // It is deleted only when unused, so no shard changes.
        changes: NO_CHANGES,
      };
    });
  }

  async listEgressPolicies(): Promise<EgressPolicy[]> {
    const [policies, destinations] = await Promise.all([
      this.query(POLICY_PK, decodePolicy),
      this.query(DESTINATION_PK, decodeDestination),
    ]);
    return withDestinations(
      policies,
      destinations.map(({ destination }) => destination),
    );
  }

  async findEgressPolicies(filter: EgressPolicyFilter): Promise<EgressPolicy[]> {
    const sourceIds = filter.sourceIds && new Set(filter.sourceIds.flatMap((id) => [id, id.toLowerCase()]));
    const matching = (await this.query(POLICY_PK, decodePolicy)).filter(
      (policy) =>
        (sourceIds === undefined || sourceIds.has(policy.source_id)) &&
        (filter.sourceTypes === undefined || filter.sourceTypes.includes(policy.source_type)) &&
        (filter.destinationIds === undefined || filter.destinationIds.includes(policy.destination_id)),
    );
    const ids = distinct(matching.map((policy) => policy.destination_id));
    // A few hundred policies among thousands of destinations: read theirs by key. Many: one pass over
    // the partition costs fewer reads than a key each.
    const destinations =
      ids.length <= this.destinationsReadByKey
        ? await this.destinationsById(ids)
        : (await this.query(DESTINATION_PK, decodeDestination)).map(({ destination }) => destination);
    const names = filter.destinationNames;
    const policies = withDestinations(matching, destinations);
    return names === undefined ? policies : policies.filter((policy) => names.includes(policy.destination.name));
  }

  async createEgressPolicies(inputs: readonly EgressPolicyInput[]): Promise<CreatePoliciesResult> {
    const distinct = [
      ...new Map(
        inputs.map((input) => [
          `${input.destination.id}\u0000${input.source.type}\u0000${input.source.id}\u0000${lifecycleOf(input)}`,
          input,
        ]),
      ).values(),
    ];
    return this.writer.write(async () => {
      const destinationIds = [...new Set(distinct.map((input) => input.destination.id))];
      const destinations = new Map(
        (await this.destinationsById(destinationIds)).map((destination) => [destination.id, destination]),
      );
      const missing = destinationIds.filter((id) => !destinations.has(id));
      if (missing.length > 0) {
        throw new UnknownReferenceError(`egress_policies: unknown destination id(s): ${missing.join(', ')}`, missing);
      }
      const refKeys = distinct.map((input) =>
        destinationRefKey(input.destination.id, input.source.type, input.source.id, lifecycleOf(input)),
      );
      const existing = new Map(
        (await this.batchGet(refKeys, decodeDestinationRef)).map(({ key, policyId }) => [
          `${key.pk}\u0000${key.sk}`,
          policyId,
        ]),
      );
      const items: TransactItem[] = [];
      const added: PolicyItem[] = [];
      const newUsers = new Map<string, number>();
      const policies = distinct.map((input, index): EgressPolicy => {
        const refKey = refKeys[index];
        const destination = destinations.get(input.destination.id);
        if (!refKey || !destination) throw new Error('unreachable: every input has a key and a destination');
        const existingId = existing.get(`${refKey.pk}\u0000${refKey.sk}`);
        const lifecycle = lifecycleOf(input);
        const forLifecycle = lifecycle === undefined ? {} : { app_lifecycle: lifecycle };
        if (existingId) return { id: existingId, source: input.source, destination, ...forLifecycle };
        const id = this.newId();
        const item: PolicyItem = {
          id,
          source_type: input.source.type,
          source_id: input.source.id,
          destination_id: destination.id,
          ...forLifecycle,
        };
        newUsers.set(destination.id, (newUsers.get(destination.id) ?? 0) + 1);
        added.push(item);
        items.push(
          this.writer.put({ ...policyKey(id), ...item }, `attribute_not_exists(${PARTITION_KEY})`),
          this.writer.put({ ...refKey, policy_id: id }, `attribute_not_exists(${PARTITION_KEY})`),
        );
        return { id, source: input.source, destination, ...forLifecycle };
      });
      const created = items.length / 2;
      // Count the new users on each destination, which must still exist when they land.
      for (const [destinationId, count] of newUsers) items.push(this.countUsers(destinationId, count));
      return { items, result: { policies, created }, changes: { added, removed: [], keys: [] } };
    });
  }

  async deleteEgressPolicy(id: string): Promise<EgressPolicy> {
    return this.writer.write(async () => {
      const [policy] = await this.batchGet([policyKey(id)], decodePolicy);
      if (!policy) throw new NotFoundError(`egress policy not found: ${id}`, [id]);
      const [destination] = await this.destinationsById([policy.destination_id]);
      // The policy's counter on its destination keeps the destination; a missing one is damage.
      if (!destination) {
        throw new IntegrityError(policyKey(id), 'destination_id', 'names a destination that does not exist');
      }
      return {
        items: [
          this.writer.delete(policyKey(id), `attribute_exists(${PARTITION_KEY})`),
          this.writer.delete(
            destinationRefKey(policy.destination_id, policy.source_type, policy.source_id, policy.app_lifecycle),
            '#policy = :policy',
            { '#policy': 'policy_id' },
            { ':policy': id },
          ),
          this.countUsers(policy.destination_id, -1),
        ],
        result: toPolicy(policy, destination),
        changes: { added: [], removed: [policy], keys: [] },
      };
    });
  }

  /** Name records to move for a set of updates; swaps within one request are allowed. */
  private async renameItems(
    updates: readonly DestinationUpdate[],
    current: ReadonlyMap<string, Destination>,
  ): Promise<TransactItem[]> {
    const released = new Map<string, string>(); // name -> id giving it up
    const claimed = new Map<string, string>(); // name -> id taking it
    const renamed: Destination[] = [];
    for (const update of updates) {
      const before = current.get(update.id);
      if (!before || before.name === update.name) continue;
      released.set(before.name, update.id);
      claimed.set(update.name, update.id);
      renamed.push(before);
    }
    await this.checkNameGuards(renamed);
    const fresh = [...claimed.keys()].filter((name) => !released.has(name));
    const taken = await this.batchGet(fresh.map(destinationNameKey), decodeDestinationName);
    if (taken.length > 0) throw nameTaken(taken.map(({ name }) => name));

    const items: TransactItem[] = [];
    for (const [name, id] of claimed) {
      const previousOwner = released.get(name);
      items.push(
        previousOwner === undefined
          ? this.writer.put({ ...destinationNameKey(name), id }, `attribute_not_exists(${PARTITION_KEY})`)
          : this.writer.put(
              { ...destinationNameKey(name), id },
              '#id = :owner',
              { '#id': 'id' },
              { ':owner': previousOwner },
            ),
      );
    }
    for (const [name, id] of released) {
      if (claimed.has(name)) continue;
      items.push(this.writer.delete(destinationNameKey(name), '#id = :id', { '#id': 'id' }, { ':id': id }));
    }
    return items;
  }

  /**
   * Refuses to plan on a damaged name guard: the guard of a destination's name names it. Releasing
   * one that does not would fail its condition on every attempt and end, seconds later, as a
   * ContentionError. A destination renamed meanwhile is a race, not damage: the write's name
   * condition then fails and it is planned again.
   */
  private async checkNameGuards(destinations: readonly Destination[]): Promise<void> {
    if (destinations.length === 0) return;
    const guards = await this.batchGet(
      destinations.map((destination) => destinationNameKey(destination.name)),
      decodeDestinationName,
    );
    const holders = new Map(guards.map(({ name, id }) => [name, id]));
    const unguarded = destinations.filter((destination) => holders.get(destination.name) !== destination.id);
    if (unguarded.length === 0) return;
    const names = new Map(
      (await this.destinationsById(unguarded.map(({ id }) => id))).map(({ id, name }) => [id, name]),
    );
    const damaged = unguarded.find((destination) => names.get(destination.id) === destination.name);
    if (damaged !== undefined) {
      throw new IntegrityError(
        destinationNameKey(damaged.name),
        'id',
        'does not name the destination that has this name',
      );
    }
  }

  /** The shards of the policies using these destinations, from their guards, sorted. */
  private async userShardKeys(destinationIds: readonly string[]): Promise<ShardKey[]> {
    const guards = (
      await Promise.all(destinationIds.map((id) => this.query(destinationRefPk(id), decodeDestinationRef)))
    ).flat();
    const keys = guards.map(({ key }) => {
      const source = destinationRefSource(key.sk);
      if (source === undefined) throw new IntegrityError(key, 'sk', 'is not <source type>#<source id>[#<lifecycle>]');
      return shardKeyOfPolicy(source);
    });
    return [...new Set(keys)].sort();
  }

  /** The destinations with these ids, in the order asked, leaving out the missing ones. */
  private async destinationsById(ids: readonly string[]): Promise<Destination[]> {
    const stored = await this.batchGet(ids.map(destinationKey), decodeDestination);
    const found = new Map(stored.map(({ destination }) => [destination.id, destination]));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  private async batchGet<T>(keys: readonly Key[], decode: (item: Item) => T): Promise<T[]> {
    return (await batchGet(this.client, this.tableName, keys, { sleep: this.sleep })).map(decode);
  }

  private async query<T>(pk: string, decode: (item: Item) => T): Promise<T[]> {
    return (await queryPartition(this.client, this.tableName, pk)).map(decode);
  }

  /**
   * Moves a destination's policy counter, and its count of such moves (which an update checks: see
   * updateDestinations); the destination must still exist.
   */
  private countUsers(destinationId: string, delta: number): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: destinationKey(destinationId),
        UpdateExpression: 'ADD #refs :delta, #rw :one',
        ConditionExpression: `attribute_exists(${PARTITION_KEY})`,
        ExpressionAttributeNames: { '#refs': REFS, '#rw': REF_WRITES },
        ExpressionAttributeValues: { ':delta': delta, ':one': 1 },
      },
    };
  }
}

function assertUnique(values: readonly string[], error: (value: string) => Error): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw error(value);
    seen.add(value);
  }
}

function nameTaken(names: string[]): NameConflictError {
  return new NameConflictError(
    `destinations: name(s) already taken: ${names.map((name) => JSON.stringify(name)).join(', ')}`,
    names,
  );
}

/** The values in first-seen order without repeats: a filter naming one id twice lists it once. */
/**
 * The policies with their destinations embedded. Policies and destinations are read at slightly
 * different moments; a policy and its destination are only ever removed together with the policy
 * first, so a policy whose destination is missing was just deleted and is left out.
 */
function withDestinations(policies: readonly PolicyItem[], destinations: readonly Destination[]): EgressPolicy[] {
  const byId = new Map(destinations.map((destination) => [destination.id, destination]));
  return policies.flatMap((policy) => {
    const destination = byId.get(policy.destination_id);
    return destination ? [toPolicy(policy, destination)] : [];
  });
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The lifecycle a policy is for, or undefined for every one (`all`, or none given). */
function lifecycleOf(input: EgressPolicyInput): 'running' | 'staging' | undefined {
  return input.app_lifecycle === undefined || input.app_lifecycle === 'all' ? undefined : input.app_lifecycle;
}
