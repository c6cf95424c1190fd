// Item layout of the single table. Every collection is one partition key, so a list is one paginated
// Query and a lookup by id or name is one BatchGet; no secondary index is needed.
//
//   pk          sk                        what
//   META        VERSION                   { version, updated_at, changes? }: +1 in every write's transaction (orders all
//                                         changes); `changes` describes that write (version-changes.ts), absent when
//                                         it is undescribed, so the fan-out updates only the shards it touched
//   DEST        <destination id>          a destination, `refs`, the number of policies using it, and `ref_writes`,
//                                         +1 per policy create or delete on it: an update that records the users'
//                                         shards replaces it only if no user came or went since it read them
//   DESTNAME    <name>                    { id }: makes names unique
//   POLICY      <policy id>               { id, source_type, source_id ('' for default), destination_id, app_lifecycle? }
//   DESTREF#<d> <source type>#<source id>[#<lifecycle>] { policy_id }: makes policies unique, finds the users of a destination
//   SG          <group guid>              a security group (SecurityGroupItem): rules, globally_enabled_*, the
//                                         four sorted binding lists, `revision` (+1 per write, the update guard)
//   SGNAME      <name>                    { guid }: makes security group names unique
//   JOB         <job guid>                { guid, operation, state, created_at }: a finished V3 job (job-store.ts)
import type { HttpRoute } from '../domain/http-routes.js';
import { SOURCE_TYPES } from '../domain/model-primitives.js';
import type { SecurityGroup, SecurityGroupRule } from '../domain/security-group.js';
import type { Destination, EgressPolicy, SourceType } from '../domain/types.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export type Key = Record<typeof PARTITION_KEY | typeof SORT_KEY, string>;

const key = (pk: string, sk: string): Key => ({ [PARTITION_KEY]: pk, [SORT_KEY]: sk });

export const META_PK = 'META';
export const DESTINATION_PK = 'DEST';
export const DESTINATION_NAME_PK = 'DESTNAME';
export const POLICY_PK = 'POLICY';
export const SECURITY_GROUP_PK = 'SG';
export const SECURITY_GROUP_NAME_PK = 'SGNAME';
export const JOB_PK = 'JOB';
export const SNAPSHOT_PK = 'SNAPSHOT';

export const versionKey = (): Key => key(META_PK, 'VERSION');
export const destinationKey = (id: string): Key => key(DESTINATION_PK, id);
export const destinationNameKey = (name: string): Key => key(DESTINATION_NAME_PK, name);
export const policyKey = (id: string): Key => key(POLICY_PK, id);
export const securityGroupKey = (guid: string): Key => key(SECURITY_GROUP_PK, guid);
export const securityGroupNameKey = (name: string): Key => key(SECURITY_GROUP_NAME_PK, name);
export const jobKey = (guid: string): Key => key(JOB_PK, guid);
/** The snapshot pointer (snapshot-store.ts), also read for the change log (cell-status-store.ts). */
export const snapshotPointerKey = (): Key => key(SNAPSHOT_PK, 'CURRENT');
export const destinationRefPk = (destinationId: string): string => `DESTREF#${destinationId}`;
/**
 * A policy's guard: one per (destination, source, lifecycle). A policy for all lifecycles keeps the
 * key it had before lifecycles existed, `<type>#<id>`; a `default` source has the id ''.
 */
export const destinationRefKey = (
  destinationId: string,
  sourceType: SourceType,
  sourceId: string,
  lifecycle: 'running' | 'staging' | undefined = undefined,
): Key =>
  key(destinationRefPk(destinationId), `${sourceType}#${sourceId}${lifecycle === undefined ? '' : `#${lifecycle}`}`);

/**
 * The source of a guard's sort key (destinationRefKey's inverse), or undefined when it is not one.
 * Read from the known type prefix and lifecycle suffixes, not by splitting at '#': that holds even
 * for an id containing '#', which the API never stores (model-primitives.ts IDENTIFIER_PATTERN).
 */
export function destinationRefSource(sortKey: string): Pick<PolicyItem, 'source_type' | 'source_id'> | undefined {
  const type = SOURCE_TYPES.find((candidate) => sortKey.startsWith(`${candidate}#`));
  if (type === undefined) return undefined;
  const rest = sortKey.slice(type.length + 1);
  const suffix = LIFECYCLE_SUFFIXES.find((candidate) => rest.endsWith(candidate));
  const id = suffix === undefined ? rest : rest.slice(0, -suffix.length);
  if (type === 'default' ? id !== '' : id === '') return undefined;
  return { source_type: type, source_id: id };
}

const LIFECYCLE_SUFFIXES = ['#running', '#staging'] as const;

export interface PolicyItem {
  id: string;
  source_type: SourceType;
  /** '' for a `default` source. */
  source_id: string;
  destination_id: string;
  /** Absent: every lifecycle. */
  app_lifecycle?: 'running' | 'staging';
}

/** `refWrites`: the counter read, carried over by a rewrite; absent until a policy moves `refs`. */
export function destinationItem(
  destination: Destination,
  refs: number,
  refWrites: number | undefined = undefined,
): Record<string, unknown> {
  return {
    ...destinationKey(destination.id),
    ...destination,
    refs,
    ...(refWrites === undefined ? {} : { ref_writes: refWrites }),
  };
}

/** The API shape: only the fields of a destination, in a stable order (responses are compared as text). */
export function toDestination(destination: Destination): Destination {
  return {
    id: destination.id,
    name: destination.name,
    ...(destination.description !== undefined ? { description: destination.description } : {}),
    ips: destination.ips.map(({ start, end }) => ({ start, end })),
    // hosts and routes only when used: a classic destination reads exactly as before they existed.
    ...(destination.hosts !== undefined && destination.hosts.length > 0 ? { hosts: [...destination.hosts] } : {}),
    ports: destination.ports.map(({ start, end }) => ({ start, end })),
    protocol: destination.protocol,
    ...(destination.icmp_type !== undefined ? { icmp_type: destination.icmp_type } : {}),
    ...(destination.icmp_code !== undefined ? { icmp_code: destination.icmp_code } : {}),
    ...(destination.routes !== undefined && destination.routes.length > 0
      ? { routes: destination.routes.map(toRoute) }
      : {}),
  };
}

/** A route with only its fields, in a stable order. */
function toRoute(route: HttpRoute): HttpRoute {
  return {
    ...(route.methods !== undefined ? { methods: [...route.methods] } : {}),
    ...(route.path_regex !== undefined ? { path_regex: route.path_regex } : {}),
    ...(route.headers !== undefined ? { headers: { ...route.headers } } : {}),
  };
}

export function toPolicy(policy: PolicyItem, destination: Destination): EgressPolicy {
  return {
    id: policy.id,
    source: { type: policy.source_type, id: policy.source_id },
    destination,
    ...(policy.app_lifecycle === undefined ? {} : { app_lifecycle: policy.app_lifecycle }),
  };
}

/**
 * A security group as stored: flat, so that conditions and projections can name each binding list.
 * The lists hold guids, sorted and without repeats.
 */
export interface SecurityGroupItem {
  readonly guid: string;
  readonly name: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly globally_enabled_running: boolean;
  readonly globally_enabled_staging: boolean;
  readonly rules: readonly SecurityGroupRule[];
  readonly running_spaces: readonly string[];
  readonly running_organizations: readonly string[];
  readonly staging_spaces: readonly string[];
  readonly staging_organizations: readonly string[];
  /** +1 per write; a write replaces the item only if it is still the revision it read. */
  readonly revision: number;
}

export function securityGroupItem(group: SecurityGroup, revision: number): Record<string, unknown> & SecurityGroupItem {
  return {
    ...securityGroupKey(group.guid),
    guid: group.guid,
    name: group.name,
    created_at: group.createdAt,
    updated_at: group.updatedAt,
    globally_enabled_running: group.globallyEnabled.running,
    globally_enabled_staging: group.globallyEnabled.staging,
    rules: group.rules.map(toSecurityGroupRule),
    running_spaces: group.bindings.running.space,
    running_organizations: group.bindings.running.organization,
    staging_spaces: group.bindings.staging.space,
    staging_organizations: group.bindings.staging.organization,
    revision,
  };
}

export function toSecurityGroup(item: SecurityGroupItem): SecurityGroup {
  return {
    guid: item.guid,
    name: item.name,
    createdAt: item.created_at,
    updatedAt: item.updated_at,
    globallyEnabled: { running: item.globally_enabled_running, staging: item.globally_enabled_staging },
    rules: item.rules.map(toSecurityGroupRule),
    bindings: {
      running: { space: [...item.running_spaces], organization: [...item.running_organizations] },
      staging: { space: [...item.staging_spaces], organization: [...item.staging_organizations] },
    },
  };
}

/**
 * Only the fields of a rule, in a stable order, absent ones left out: the document client is not
 * asked to drop undefined values, and responses are compared as text.
 */
export function toSecurityGroupRule(rule: SecurityGroupRule): SecurityGroupRule {
  return {
    protocol: rule.protocol,
    destination: rule.destination,
    ...(rule.ports !== undefined ? { ports: rule.ports } : {}),
    ...(rule.type !== undefined ? { type: rule.type } : {}),
    ...(rule.code !== undefined ? { code: rule.code } : {}),
    ...(rule.log !== undefined ? { log: rule.log } : {}),
    ...(rule.description !== undefined ? { description: rule.description } : {}),
  };
}
