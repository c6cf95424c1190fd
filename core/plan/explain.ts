// "Would this connection be allowed, and why?" Pure. The verdict is the walk (evaluate.ts) over the
// plan a cell would program for one container of the app: the same snapshot builder, the same
// planner and the same deny networks the cells get, so it cannot disagree with enforcement. The
// reasons name what decided: each policy or security-group rule that allows the connection on its
// own (each planned alone and walked the same way), the deny network that refused it, or nothing.
// Host names cannot be resolved here: the plan is made without them (NOT_ENFORCED_BY_NAME), and a
// refusal names each policy whose names could carry the connection, saying whether cells enforce
// them by the addresses they resolve (resolved_names) or not at all yet (not_enforced).

import { namePart } from '../domain/destination-parts.js';
import { isWildcardHost } from '../domain/host-names.js';
import { numberToIpv4, parseCidr } from '../domain/ipv4.js';
import { isLayer7Protocol } from '../domain/model-primitives.js';
import {
  type ContainerWorkload,
  type Lifecycle,
  lifecycleOf,
  type SecurityGroup,
  type SecurityGroupRule,
} from '../domain/security-group.js';
import { buildSnapshot, snapshotToPolicyList } from '../domain/snapshot.js';
import type { BindingScope } from '../domain/snapshot-groups.js';
import type { EgressPolicy } from '../domain/types.js';
import { inCidr, normalizeCidr } from './cidr.js';
import { type Evaluation, evaluatePlan, type Packet } from './evaluate.js';
import type { Container } from './model.js';
import { containerChain } from './names.js';
import { DEFAULT_OVERLAY_CIDR, type DenyNetworks, NO_DENY_NETWORKS, planRules } from './plan.js';

/** A connection from a container of `app` (in `space`, of `org`) to `ip`. Ids as cells see them. */
export interface ExplainQuery {
  readonly app: string;
  readonly space: string;
  readonly org?: string;
  /** As the containers file's `container_workload` says. */
  readonly workload: ContainerWorkload;
  readonly ip: string;
  readonly protocol: Packet['protocol'];
  /** tcp and udp. */
  readonly port?: number;
  /** icmp. */
  readonly icmp?: { readonly type: number; readonly code: number };
}

/** The desired state explained: at least every policy and group that can apply to the query. */
export interface ExplainState {
  readonly version: number;
  readonly policies: readonly EgressPolicy[];
  readonly groups: readonly SecurityGroup[];
}

export interface ExplainOptions {
  /** @default DEFAULT_OVERLAY_CIDR */
  readonly overlayCidr?: string;
  /** The operator's deny networks, as the cells get them. @default NO_DENY_NETWORKS */
  readonly denyNetworks?: DenyNetworks;
}

/** How a security group reaches a container: globally, through its space, through its organisation. */
export type GroupScope = Exclude<BindingScope, 'app'>;

export type ExplainReason =
  | { readonly type: 'egress_policy'; readonly description: string; readonly policy: EgressPolicy }
  | {
      readonly type: 'security_group';
      readonly description: string;
      readonly security_group: { readonly guid: string; readonly name: string };
      /** How the group applies to the container: globally, through its space, through its organisation. */
      readonly bound: readonly GroupScope[];
      readonly lifecycle: Lifecycle;
      /** The rule's index in the group's `rules`. */
      readonly rule_index: number;
      readonly rule: SecurityGroupRule;
    }
  | {
      readonly type: 'deny_network';
      readonly description: string;
      readonly cidr: string;
      readonly list: keyof DenyNetworks;
    }
  | { readonly type: 'default_deny'; readonly description: string }
  | {
      /**
       * Beside default_deny: a policy that would let the connection through if its destination's
       * host names were enforced (protocol and port fit; the address cannot be told without
       * resolving). Not in this version (name-enforcement.ts): http/https and wildcard names; it
       * allows nothing.
       */
      readonly type: 'not_enforced';
      readonly description: string;
      readonly policy: EgressPolicy;
    }
  | {
      /**
       * Beside default_deny: a policy whose tcp/udp destination's exact host names would carry the
       * connection (protocol and port fit). Cells allow the addresses they resolve those names to
       * (agent/names/), which explain cannot know: allowed there if the address is one of them.
       */
      readonly type: 'resolved_names';
      readonly description: string;
      readonly policy: EgressPolicy;
    }
  | { readonly type: 'not_egress'; readonly description: string; readonly overlay: string };

export interface Explanation {
  readonly allowed: boolean;
  /** The policy version the state was read at. */
  readonly version: number;
  readonly reasons: readonly ExplainReason[];
}

export function explain(query: ExplainQuery, state: ExplainState, options: ExplainOptions = {}): Explanation {
  const overlayCidr = normalizeCidr(options.overlayCidr ?? DEFAULT_OVERLAY_CIDR);
  const denyNetworks = options.denyNetworks ?? NO_DENY_NETWORKS;
  const lifecycle = lifecycleOf(query.workload);
  const container: Container = {
    ip: containerAddress(overlayCidr, query.ip),
    appId: query.app,
    spaceId: query.space,
    ...(query.org === undefined ? {} : { orgId: query.org }),
    lifecycle,
  };
  const packet: Packet = {
    source: container.ip,
    destination: query.ip,
    protocol: query.protocol,
    ...(query.port === undefined ? {} : { port: query.port }),
    ...(query.icmp === undefined ? {} : { icmp: query.icmp }),
  };
  const walk = (policies: readonly EgressPolicy[], groups: readonly SecurityGroup[], deny: DenyNetworks) =>
    evaluatePlan(
      planRules(snapshotToPolicyList(buildSnapshot(state.version, policies, groups)), [container], {
        overlayCidr,
        denyNetworks: deny,
      }),
      packet,
    );
  const evaluation = walk(state.policies, state.groups, denyNetworks);
  const answer = (allowed: boolean, reasons: ExplainReason[]): Explanation => ({
    allowed,
    version: state.version,
    reasons,
  });

  if (evaluation.verdict === 'pass') {
    if (!inCidr(query.ip, overlayCidr)) throw new Error(`explain: the plan let ${query.ip} past without a decision`);
    return answer(true, [
      {
        type: 'not_egress',
        description: `${query.ip} is on the container network ${overlayCidr}: traffic between containers is not egress, and no egress rule governs it`,
        overlay: overlayCidr,
      },
    ]);
  }
  if (evaluation.verdict === 'reject') {
    const reason = refusal(evaluation, container, denyNetworks);
    if (reason.type !== 'default_deny') return answer(false, [reason]);
    const byName = state.policies
      .filter((policy) => policyApplies(policy, container) && nameCouldCarry(policy, query))
      .map((policy) => byNameReason(policy, query.ip));
    return answer(false, [reason, ...byName]);
  }

  const reasons = [
    ...state.policies
      .filter((policy) => policyApplies(policy, container))
      .filter((policy) => walk([policy], [], NO_DENY_NETWORKS).verdict === 'accept')
      .map(policyReason),
    ...state.groups.flatMap((group) => {
      const bound = boundThrough(group, container);
      if (bound.length === 0) return [];
      return group.rules.flatMap((rule, index) =>
        walk([], [{ ...group, rules: [rule] }], NO_DENY_NETWORKS).verdict === 'accept'
          ? [groupReason(group, bound, lifecycle, index, rule)]
          : [],
      );
    }),
  ];
  // Cannot happen while plans are unions of their sources; if it does, say so rather than guess.
  if (reasons.length === 0) throw new Error('explain: the plan allows it, but no single policy or rule does');
  return answer(true, reasons);
}

/** Any overlay address other than the one asked about (the planner needs one for the container). */
function containerAddress(overlayCidr: string, probe: string): string {
  const { start } = parseCidr(overlayCidr);
  const first = numberToIpv4(start + 2);
  return first === probe ? numberToIpv4(start + 3) : first;
}

/** A refusal in the container's chain: a deny network's rule names its network; the last rules none. */
function refusal(evaluation: Evaluation, container: Container, denyNetworks: DenyNetworks): ExplainReason {
  const decided = evaluation.decidedBy;
  const network = decided?.rule.match.destination;
  if (decided?.chain === containerChain(container.ip) && network !== undefined) {
    const list: keyof DenyNetworks = denyNetworks.always.includes(network) ? 'always' : container.lifecycle;
    return {
      type: 'deny_network',
      description: `deny network ${network} (${list}) is closed to ${list === 'always' ? 'every' : container.lifecycle} container, whatever allows it`,
      cidr: network,
      list,
    };
  }
  return {
    type: 'default_deny',
    description: 'no egress policy or security group allows it, and what nothing allows is refused',
  };
}

/** The policy is for this container: its app, its space or every app, and its lifecycle. */
export function policyApplies(policy: EgressPolicy, container: Container): boolean {
  if (policy.app_lifecycle !== undefined && policy.app_lifecycle !== container.lifecycle) return false;
  const { type, id } = policy.source;
  return (
    type === 'default' || (type === 'app' && id === container.appId) || (type === 'space' && id === container.spaceId)
  );
}

/** The policy's destination has host names, over the query's protocol and port. */
function nameCouldCarry(policy: EgressPolicy, query: ExplainQuery): boolean {
  const part = namePart(policy.destination);
  if (part === undefined) return false;
  const protocol = isLayer7Protocol(part.protocol) ? 'tcp' : part.protocol;
  const { port } = query;
  return (
    protocol === query.protocol &&
    port !== undefined &&
    part.ports.some((range) => range.start <= port && port <= range.end)
  );
}

/**
 * What a policy's host names do for the connection: on the cells, tcp/udp exact names are resolved
 * and their addresses allowed (name-enforcement.ts: BY_HOST_SETS; a policy for one lifecycle or
 * every app through its binding's rule by host name); http and https names are the cell proxy's
 * (explain-layer7.ts), so by address they allow nothing.
 */
function byNameReason(policy: EgressPolicy, ip: string): ExplainReason {
  const { destination } = policy;
  const hosts = destination.hosts ?? [];
  const shown = hosts.length > 3 ? `${hosts.slice(0, 3).join(', ')} and ${hosts.length - 3} more` : hosts.join(', ');
  const lead = `${policyReason(policy).description} by host name (${shown}, ${destination.protocol})`;
  const why = notEnforcedBecause(policy);
  if (why === undefined) {
    return {
      type: 'resolved_names',
      description: `${lead}: cells allow the addresses they resolve its names to, which explain cannot see: allowed if ${ip} is one of them`,
      policy,
    };
  }
  return { type: 'not_enforced', description: `${lead}, but ${why}`, policy };
}

/** Why the policy's names do not allow the connection by its address, or undefined when cells resolve them. */
function notEnforcedBecause(policy: EgressPolicy): string | undefined {
  const { destination } = policy;
  if (isLayer7Protocol(destination.protocol)) {
    return `the cell proxy decides ${destination.protocol} by ${destination.protocol === 'http' ? 'Host and route' : 'SNI'}, not by address: ask with protocol=${destination.protocol} and the host`;
  }
  if ((destination.hosts ?? []).every(isWildcardHost)) {
    return 'wildcard names cannot be resolved for tcp or udp: it allows nothing';
  }
  return undefined;
}

function boundThrough(group: SecurityGroup, container: Container): GroupScope[] {
  const bindings = group.bindings[container.lifecycle];
  const bound: GroupScope[] = [];
  if (group.globallyEnabled[container.lifecycle]) bound.push('global');
  if (bindings.space.includes(container.spaceId)) bound.push('space');
  if (container.orgId !== undefined && bindings.organization.includes(container.orgId)) bound.push('organization');
  return bound;
}

function policyReason(policy: EgressPolicy): ExplainReason {
  const { source, destination } = policy;
  const who = source.type === 'default' ? 'every app' : `${source.type} ${source.id}`;
  const lifecycle = policy.app_lifecycle === undefined ? '' : ` (${policy.app_lifecycle} only)`;
  return {
    type: 'egress_policy',
    description: `egress policy ${policy.id} lets ${who}${lifecycle} reach destination "${destination.name}" (${destination.id})`,
    policy,
  };
}

function groupReason(
  group: SecurityGroup,
  bound: readonly GroupScope[],
  lifecycle: Lifecycle,
  index: number,
  rule: SecurityGroupRule,
): ExplainReason {
  const ports = rule.ports === undefined ? '' : ` ports ${rule.ports}`;
  return {
    type: 'security_group',
    description: `security group "${group.name}" (${group.guid}) rule ${index} (${rule.protocol} ${rule.destination}${ports}), applied ${bound.map((scope) => (scope === 'global' ? 'globally' : `through the ${scope}`)).join(' and ')} for ${lifecycle} workloads`,
    security_group: { guid: group.guid, name: group.name },
    bound,
    lifecycle,
    rule_index: index,
    rule,
  };
}
