// Security groups on the policy table (items.ts: SG and SGNAME). Every write is one transaction with
// +1 on the version record (versioned-write.ts), so the fan-out carries groups as it carries
// policies. A group item carries `revision`: a write replaces it only while it still holds the
// revision the write was planned on, so concurrent binds and updates never lose one another (the
// loser is planned again on fresh data). Names are unique through SGNAME guards claimed with
// attribute_not_exists; a name lost in a race is a NameConflictError, never a ContentionError.
// Each write describes itself (version-changes.ts) by the shards its group's bindings reach before
// and after it: a group applies in those shards, so any change to it, rules too, touches them.
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { IntegrityError, NameConflictError, NotBoundError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { Job } from '../domain/jobs.js';
import type {
  BindingTarget,
  Lifecycle,
  SecurityGroup,
  SecurityGroupInput,
  SecurityGroupStore,
  SecurityGroupUpdate,
} from '../domain/security-group.js';
import { shardKeysOfGroup, type VersionChanges } from '../domain/version-changes.js';
import type { Sleep } from '../retry.js';
import { queryPartition, type TransactItem } from './dynamodb-io.js';
import { decodeSecurityGroup, decodeSecurityGroupName, type StoredSecurityGroup } from './item-schemas.js';
import {
  SECURITY_GROUP_PK,
  securityGroupItem,
  securityGroupKey,
  securityGroupNameKey,
  toSecurityGroupRule,
} from './items.js';
import { jobItem } from './job-store.js';
import { PARTITION_KEY } from './table-definition.js';
import { VersionedWriter, type WritePlan } from './versioned-write.js';

/**
 * The most a group's item may take, estimated as the UTF-8 length of its JSON. DynamoDB refuses
 * items over 400 KB (409,600 bytes, names and values); JSON spends more than DynamoDB on quotes,
 * commas and booleans and only a few bytes less on numbers, so 380 KiB leaves a margin for those.
 */
export const MAX_SECURITY_GROUP_ITEM_BYTES = 380 * 1024;

/** DynamoDB's limit on a sort key; a longer guid or name can never be stored, so it is never looked up. */
const MAX_SORT_KEY_BYTES = 1024;

export interface DynamoDbSecurityGroupStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Pauses between retried writes. @default a timer */
  readonly sleep?: Sleep;
  /** Guid generator; injectable for tests. @default crypto.randomUUID */
  readonly newGuid?: () => string;
  /** Clock for created_at and updated_at; injectable for tests. @default the system clock */
  readonly now?: () => Date;
}

export class DynamoDbSecurityGroupStore implements SecurityGroupStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly writer: VersionedWriter;
  private readonly newGuid: () => string;
  private readonly now: () => Date;

  constructor(options: DynamoDbSecurityGroupStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.writer = new VersionedWriter(options);
    this.newGuid = options.newGuid ?? randomUUID;
    this.now = options.now ?? (() => new Date());
  }

  async createSecurityGroup(input: SecurityGroupInput): Promise<SecurityGroup> {
    return this.writer.write(async () => {
      if ((await this.nameHolder(input.name)) !== undefined) throw nameTaken(input.name);
      const now = this.now().toISOString();
      const group: SecurityGroup = {
        guid: this.newGuid(),
        name: input.name,
        createdAt: now,
        updatedAt: now,
        globallyEnabled: { running: input.globallyEnabled.running, staging: input.globallyEnabled.staging },
        rules: input.rules.map(toSecurityGroupRule),
        bindings: {
          running: {
            space: sortedSet(input.bindings.running.space),
            organization: sortedSet(input.bindings.running.organization),
          },
          staging: {
            space: sortedSet(input.bindings.staging.space),
            organization: sortedSet(input.bindings.staging.organization),
          },
        },
      };
      const claim = this.claimName(group.name, group.guid);
      return {
        items: [this.writer.put(storableItem(group, 1), `attribute_not_exists(${PARTITION_KEY})`), claim],
        result: group,
        changes: groupChanges(undefined, group),
        refuseWhenConditionFails: new Map([[claim, () => nameTaken(group.name)]]),
      };
    });
  }

  async getSecurityGroup(guid: string): Promise<SecurityGroup> {
    return (await this.read(guid)).group;
  }

  async listSecurityGroups(): Promise<SecurityGroup[]> {
    const stored = (await queryPartition(this.client, this.tableName, SECURITY_GROUP_PK)).map(decodeSecurityGroup);
    // created_at is always toISOString()'s fixed-width UTC form, so text order is time order.
    return stored
      .map(({ group }) => group)
      .sort((a, b) => compareText(a.createdAt, b.createdAt) || compareText(a.guid, b.guid));
  }

  async updateSecurityGroup(guid: string, update: SecurityGroupUpdate): Promise<SecurityGroup> {
    return this.writer.write(async () => {
      const { group: before, revision } = await this.read(guid);
      const after: SecurityGroup = {
        ...before,
        name: update.name ?? before.name,
        // Like CF, every PATCH is a write: updated_at moves even when nothing else does.
        updatedAt: this.now().toISOString(),
        globallyEnabled: {
          running: update.globallyEnabled?.running ?? before.globallyEnabled.running,
          staging: update.globallyEnabled?.staging ?? before.globallyEnabled.staging,
        },
        rules: update.rules ? update.rules.map(toSecurityGroupRule) : before.rules,
      };
      const plan = { items: [this.replace(after, revision)], result: after, changes: groupChanges(before, after) };
      if (after.name === before.name) return plan;
      // Held by this very group: a concurrent rename to the same name has just committed, and this
      // plan's read of the group is older than its read of the name. The group's revision condition
      // then fails, and the plan made again finds the name unchanged: the same rename twice succeeds
      // twice, as in CF, where a name taken by another group is refused.
      const holder = await this.nameHolder(after.name);
      if (holder !== undefined && holder !== guid) throw nameTaken(after.name);
      await this.checkNameGuard(before, revision);
      // A failed claim is not refused at once: the transaction is planned again, and the new plan's
      // read of the name says whether another group took it (refused) or this one did (see above).
      return { ...plan, items: [...plan.items, this.claimName(after.name, guid), this.releaseName(before.name, guid)] };
    });
  }

  async deleteSecurityGroup(guid: string, job?: Job): Promise<SecurityGroup> {
    return this.writer.write(async () => {
      const { group, revision } = await this.read(guid);
      await this.checkNameGuard(group, revision);
      return {
        items: [
          this.writer.delete(securityGroupKey(guid), '#revision = :revision', REVISION_NAME, { ':revision': revision }),
          this.releaseName(group.name, guid),
          // The job that reports the delete lands with it, or neither does.
          ...(job === undefined ? [] : [this.writer.put(jobItem(job), `attribute_not_exists(${PARTITION_KEY})`)]),
        ],
        result: group,
        changes: groupChanges(group, undefined),
      };
    });
  }

  async bind(
    guid: string,
    lifecycle: Lifecycle,
    target: BindingTarget,
    guids: readonly string[],
  ): Promise<SecurityGroup> {
    return this.writer.write(async () => {
      const { group, revision } = await this.read(guid);
      const bound = group.bindings[lifecycle][target];
      const after = sortedSet([...bound, ...guids]);
      // Binding only what is bound already changes nothing, so it writes nothing and the version stays.
      if (after.length === sortedSet(bound).length) return { items: [], result: group };
      return this.rebind(group, revision, lifecycle, target, after);
    });
  }

  async unbind(guid: string, lifecycle: Lifecycle, target: BindingTarget, targetGuid: string): Promise<SecurityGroup> {
    return this.writer.write(async () => {
      const { group, revision } = await this.read(guid);
      const bound = group.bindings[lifecycle][target];
      if (!bound.includes(targetGuid)) throw notBound(target, targetGuid);
      return this.rebind(
        group,
        revision,
        lifecycle,
        target,
        bound.filter((other) => other !== targetGuid),
      );
    });
  }

  /**
   * One binding list replaced. Bindings are relations, not attributes of the group: as in CF, they
   * leave updated_at alone.
   */
  private rebind(
    group: SecurityGroup,
    revision: number,
    lifecycle: Lifecycle,
    target: BindingTarget,
    guids: readonly string[],
  ): WritePlan<SecurityGroup> {
    const after: SecurityGroup = {
      ...group,
      bindings: { ...group.bindings, [lifecycle]: { ...group.bindings[lifecycle], [target]: guids } },
    };
    return { items: [this.replace(after, revision)], result: after, changes: groupChanges(group, after) };
  }

  /** The group and its revision, read consistently; NotFoundError when there is none. */
  private async read(guid: string): Promise<StoredSecurityGroup> {
    if (!fitsSortKey(guid)) throw notFound(guid);
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: securityGroupKey(guid), ConsistentRead: true }),
    );
    if (!Item) throw notFound(guid);
    return decodeSecurityGroup(Item);
  }

  /** The guid of the group holding `name`, if any. */
  /**
   * Refuses to plan on a damaged name guard: the guard of a group's name names the group. Releasing
   * it would otherwise fail its condition on every attempt and end, seconds later, as a
   * ContentionError. A guard that moved because the group itself changed meanwhile is a race, not
   * damage: the write's revision condition then fails and it is planned again.
   */
  private async checkNameGuard(group: SecurityGroup, revision: number): Promise<void> {
    if ((await this.nameHolder(group.name)) === group.guid) return;
    const now = await this.read(group.guid).catch(() => undefined);
    if (now === undefined || now.revision !== revision) return;
    throw new IntegrityError(securityGroupNameKey(group.name), 'guid', 'does not name the group that has this name');
  }

  private async nameHolder(name: string): Promise<string | undefined> {
    // A name too long to be a key is held by nobody; the write then stops at storableItem's check.
    if (!fitsSortKey(name)) return undefined;
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: securityGroupNameKey(name), ConsistentRead: true }),
    );
    return Item ? decodeSecurityGroupName(Item).guid : undefined;
  }

  /** Replaces the group if it still holds the revision read; the item then carries the next one. */
  private replace(group: SecurityGroup, revision: number): TransactItem {
    return this.writer.put(
      storableItem(group, revision + 1),
      `attribute_exists(${PARTITION_KEY}) AND #revision = :revision`,
      REVISION_NAME,
      { ':revision': revision },
    );
  }

  private claimName(name: string, guid: string): TransactItem {
    return this.writer.put({ ...securityGroupNameKey(name), guid }, `attribute_not_exists(${PARTITION_KEY})`);
  }

  /** Frees a name, only if this group still holds it. */
  private releaseName(name: string, guid: string): TransactItem {
    return this.writer.delete(securityGroupNameKey(name), '#guid = :guid', { '#guid': 'guid' }, { ':guid': guid });
  }
}

const REVISION_NAME = { '#revision': 'revision' };

/** A group's write as a version's change: the shards its bindings reach before or after it. */
function groupChanges(before: SecurityGroup | undefined, after: SecurityGroup | undefined): VersionChanges {
  const keys = [before, after].flatMap((group) => (group === undefined ? [] : shardKeysOfGroup(group)));
  return { added: [], removed: [], keys: [...new Set(keys)].sort() };
}

/** The group's item, refused before any write when DynamoDB could not store it. */
function storableItem(group: SecurityGroup, revision: number): Record<string, unknown> {
  if (!fitsSortKey(group.name)) {
    throw new ValidationError(`security group name is too long to store: at most ${MAX_SORT_KEY_BYTES} bytes`);
  }
  const item = securityGroupItem(group, revision);
  const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
  if (bytes > MAX_SECURITY_GROUP_ITEM_BYTES) {
    throw new ValidationError(
      `security group ${JSON.stringify(group.name)} is too large to store: about ${bytes} bytes of rules and ` +
        `bindings, more than the ${MAX_SECURITY_GROUP_ITEM_BYTES} one group may take (DynamoDB stores at most ` +
        '400 KB per item); use fewer or shorter rules, or split them over several groups',
    );
  }
  return item;
}

function fitsSortKey(value: string): boolean {
  return value.length > 0 && Buffer.byteLength(value, 'utf8') <= MAX_SORT_KEY_BYTES;
}

function sortedSet(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareText);
}

/** Code-unit order, the same on every machine (localeCompare is not). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function nameTaken(name: string): NameConflictError {
  return new NameConflictError(`Security group with name '${name}' already exists.`, [name]);
}

function notFound(guid: string): NotFoundError {
  return new NotFoundError('Security group not found', [guid]);
}

function notBound(target: BindingTarget, guid: string): NotBoundError {
  return new NotBoundError(
    `Unable to unbind security group from ${target} with guid '${guid}'. Ensure the ${target} is bound to this security group.`,
    guid,
  );
}
