// Cloud Foundry's V3 security groups (dynamic ASGs): the model the V3 API, the store and the cells
// share. Rules are kept as CF takes and returns them (strings for destination and ports); their
// parsed form, the address and port ranges cells enforce, comes from security-group-rules.ts.
import type { Job } from './jobs.js';

export const SECURITY_GROUP_PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;
export type SecurityGroupProtocol = (typeof SECURITY_GROUP_PROTOCOLS)[number];

/** The two workload lifecycles a group applies to: app and task containers run, staging ones stage. */
export const LIFECYCLES = ['running', 'staging'] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];

/** What a container runs (CF's `container_workload`); missing means `app`. */
export const CONTAINER_WORKLOADS = ['app', 'task', 'staging'] as const;
export type ContainerWorkload = (typeof CONTAINER_WORKLOADS)[number];

/** The lifecycle whose groups a workload gets: staging stages, apps and tasks run. */
export const lifecycleOf = (workload: ContainerWorkload = 'app'): Lifecycle =>
  workload === 'staging' ? 'staging' : 'running';

/** What a group is bound to: a space (CF), or every space of an organisation (our extension). */
export const BINDING_TARGETS = ['space', 'organization'] as const;
export type BindingTarget = (typeof BINDING_TARGETS)[number];

/** A rule as CF validates, stores and returns it. */
export interface SecurityGroupRule {
  readonly protocol: SecurityGroupProtocol;
  /** One IPv4 address, a CIDR, a range `a-b`, or a comma-separated list of these. */
  readonly destination: string;
  /** tcp and udp only: `443`, `80,443` or `8000-9000`. */
  readonly ports?: string;
  /** icmp only: -1..255, -1 any. */
  readonly type?: number;
  readonly code?: number;
  readonly log?: boolean;
  readonly description?: string;
}

export interface GloballyEnabled {
  readonly running: boolean;
  readonly staging: boolean;
}

export interface SecurityGroup {
  readonly guid: string;
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly globallyEnabled: GloballyEnabled;
  readonly rules: readonly SecurityGroupRule[];
  /** Guids of the bound spaces and organisations, per lifecycle, sorted. */
  readonly bindings: Readonly<Record<Lifecycle, Readonly<Record<BindingTarget, readonly string[]>>>>;
}

/** What a create carries, already validated (security-group-rules.ts and the API's schemas). */
export interface SecurityGroupInput {
  readonly name: string;
  readonly globallyEnabled: GloballyEnabled;
  readonly rules: readonly SecurityGroupRule[];
  readonly bindings: Readonly<Record<Lifecycle, Readonly<Record<BindingTarget, readonly string[]>>>>;
}

/** A PATCH: `rules` replaces the list, `globallyEnabled` merges key by key, absent fields stay. */
export interface SecurityGroupUpdate {
  readonly name?: string;
  readonly globallyEnabled?: Partial<GloballyEnabled>;
  readonly rules?: readonly SecurityGroupRule[];
}

export const NO_BINDINGS: SecurityGroupInput['bindings'] = {
  running: { space: [], organization: [] },
  staging: { space: [], organization: [] },
};

/**
 * Where security groups live: the policy table, beside destinations and policies. Every write is
 * all-or-nothing and advances the same policy version, so the stream, the snapshot and the cells
 * carry groups exactly as they carry egress policies. Throws the errors of ./errors.ts:
 * NameConflictError for a taken name, NotFoundError for an unknown guid, NotBoundError for an
 * unbind of what is not bound, ContentionError when racing writers keep winning.
 */
export interface SecurityGroupStore {
  createSecurityGroup(input: SecurityGroupInput): Promise<SecurityGroup>;
  getSecurityGroup(guid: string): Promise<SecurityGroup>;
  /** Every group, ordered by creation time then guid (CF's default order). */
  listSecurityGroups(): Promise<SecurityGroup[]>;
  updateSecurityGroup(guid: string, update: SecurityGroupUpdate): Promise<SecurityGroup>;
  /** With `job`: the finished job is recorded in the same transaction (CF's 202 + job to poll). */
  deleteSecurityGroup(guid: string, job?: Job): Promise<SecurityGroup>;
  /** Adds bindings (already bound ones are kept, not an error, as in CF); returns the group after. */
  bind(guid: string, lifecycle: Lifecycle, target: BindingTarget, guids: readonly string[]): Promise<SecurityGroup>;
  /** Removes one binding; NotBoundError when it is not bound. */
  unbind(guid: string, lifecycle: Lifecycle, target: BindingTarget, targetGuid: string): Promise<SecurityGroup>;
}
