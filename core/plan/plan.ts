// Desired state → chains and sets, as data. Pure: no I/O, deterministic, same input → same plan.
//
// Layout (filter table):
//   FORWARD ─► dyneg-FORWARD: (the record rule, sync.ts) · overlay destinations RETURN, then one rule
//   │          per /24 holding containers, then (unknownSources 'reject') the catch-all for every other
//   │          overlay source: ESTABLISHED,RELATED RETURN · NFLOG (rate-limited) · REJECT
//     └► dyneg-d-<h> (/24): one rule per /28 holding containers
//         └► dyneg-d-<h> (/28): one rule per container IP (/32)
//             └► dyneg-c-<h>: ESTABLISHED,RELATED ACCEPT · deny networks (NFLOG · REJECT) ·
//                            jump app chain · jump space chain · jump security-group chains
//                            (global, app, space, organisation binding of its lifecycle) ·
//                            NFLOG (rate-limited per container: one hashlimit by source address
//                            for all its NFLOG rules, unless denyLog is 'off') · REJECT
//                 ├► dyneg-a-<h>: the app's allow rules (shared by its containers)
//                 ├► dyneg-s-<h>: the space's allow rules (shared by its containers)
//                 └► dyneg-g-<h>: one security-group binding's allow rules (shared by its containers)
// A packet walks at most ~(#/24 + 16 + 16) dispatch rules, then only its own container's rules.
// An overlay source that no /32 rule names falls off the end of the dispatch chains (iptables returns
// to the calling chain) and lands on the catch-all: the file is the only way into an allow list.
// Destinations sharing one protocol/port service are folded into an ipset when there are many; a
// destination several sources use is defined once (allow-rules.ts).
import { ipv4ToNumber } from '../domain/ipv4.js';
import type { Lifecycle } from '../domain/security-group.js';
import type {
  GroupBinding,
  GroupRuleDocument,
  NameRuleDocument,
  PoliciesWithGroups,
  SecurityGroupsSection,
} from '../domain/snapshot-groups.js';
import {
  type AllowEntry,
  allowRulesOf,
  findSharedDestinations,
  groupByService,
  type HostSet,
  PlanMemo,
  type SourceGroups,
  sourceGroups,
} from './allow-rules.js';
import { enclosingCidr, normalizeCidr } from './cidr.js';
import { allowLogGroup, DEFAULT_DENY_LOG, DENY_LOG_PREFIX, type DenyLogSetting } from './deny-log.js';
import type { Chain, Container, IpSet, Match, Rule, RulePlan } from './model.js';
import { destinationAllowEntries, type NameEnforcement, NOT_ENFORCED_BY_NAME } from './name-enforcement.js';
import { appChain, containerChain, dispatchChain, groupChain, ROOT_CHAIN, spaceChain } from './names.js';
import { DEFAULT_OVERLAY_CIDR, type DenyNetworks, NO_DENY_NETWORKS } from './network-settings.js';
import type { PlanCache } from './plan-cache.js';

export interface PlanOptions {
  /** Container-to-container network; traffic to it is not egress. @default '10.255.0.0/16' */
  readonly overlayCidr?: string;
  /** A service with at least this many destination ranges uses an ipset (see docs/agent.md). @default 8 */
  readonly setThreshold?: number;
  /** What happens to new connections from overlay sources the containers file does not list. @default 'reject' */
  readonly unknownSources?: UnknownSources;
  /** Log what is refused, rate-limited per container, to an NFLOG group (deny-log.ts). @default DEFAULT_DENY_LOG */
  readonly denyLog?: DenyLogSetting;
  /** Networks no container may open a connection to, whatever allows it. @default NO_DENY_NETWORKS */
  readonly denyNetworks?: DenyNetworks;
  /**
   * What a destination's host names allow (name-enforcement.ts): the cell agent's BY_HOST_SETS, or
   * nothing. Not an input digest option: a change of it is a change of PLAN_LAYOUT (applied-record.ts).
   * @default NOT_ENFORCED_BY_NAME
   */
  readonly names?: NameEnforcement;
}

export { DEFAULT_OVERLAY_CIDR, type DenyNetworks, NO_DENY_NETWORKS } from './network-settings.js';
export const DEFAULT_SET_THRESHOLD = 8;

/**
 * `reject`: an overlay source the containers file does not list opens no connection (fail closed).
 * `allow`: its traffic is left alone, as before this setting existed (for a staged rollout).
 */
export const UNKNOWN_SOURCES = ['reject', 'allow'] as const;
export type UnknownSources = (typeof UNKNOWN_SOURCES)[number];
export const DEFAULT_UNKNOWN_SOURCES: UnknownSources = 'reject';

export function isUnknownSources(value: unknown): value is UnknownSources {
  return UNKNOWN_SOURCES.some((allowed) => allowed === value);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list === undefined) groups.set(k, [item]);
    else list.push(item);
  }
  return groups;
}

const jump = (chain: string): Rule['action'] => ({ kind: 'jump', chain });

/** Rejects the way clients fail fast on: a reset for TCP, port unreachable for everything else. */
function rejectRules(match: Match): Rule[] {
  return [
    { match: { ...match, protocol: 'tcp' }, action: { kind: 'reject', with: 'tcp-reset' } },
    { match, action: { kind: 'reject', with: 'icmp-port-unreachable' } },
  ];
}

/**
 * Before a reject: hand the packet to the log daemon, at most `rate` of them. `perSource`: one bucket
 * per source address shared by every such rule (a container's deny networks and its final refusal
 * together log at `rate`); otherwise one bucket in this rule.
 */
function denyLogRules(match: Match, denyLog: DenyLogSetting = DEFAULT_DENY_LOG, perSource = true): Rule[] {
  if (denyLog === 'off') return [];
  const limit = perSource ? { limitPerSource: denyLog.rate } : { limit: denyLog.rate };
  return [
    {
      match: { ...match, ...limit },
      action: { kind: 'nflog', group: denyLog.group, prefix: DENY_LOG_PREFIX },
    },
  ];
}

/** The deny networks of one lifecycle: `always` first, then the lifecycle's own, each once. */
function deniedFor(denyNetworks: DenyNetworks, lifecycle: Lifecycle): string[] {
  return [...new Set([...denyNetworks.always, ...denyNetworks[lifecycle]])];
}

/**
 * A container's chain: open connections pass, then new ones to a deny network are refused (logged
 * like any refusal), then the allow chains in order (`allow`: app, space, then security groups), and
 * whatever none of them accepted is refused.
 */
function containerRules(allow: readonly string[], denied: readonly string[], denyLog?: DenyLogSetting): Rule[] {
  const rules: Rule[] = [{ match: { conntrack: ['RELATED', 'ESTABLISHED'] }, action: { kind: 'accept' } }];
  for (const network of denied) {
    rules.push(...denyLogRules({ destination: network }, denyLog), ...rejectRules({ destination: network }));
  }
  for (const chain of allow) rules.push({ match: {}, action: jump(chain) });
  rules.push(...denyLogRules({}, denyLog), ...rejectRules({}));
  return rules;
}

/**
 * A security-group rule's stable id, from its content: a binding's chain lists its rules in the
 * same order whatever their indexes, so a cell planning from its own shards (source-shards.ts)
 * writes what it would from the whole snapshot.
 */
export function groupRuleId(rule: GroupRuleDocument): string {
  const ranges = (list: readonly { readonly start: string | number; readonly end: string | number }[]) =>
    list.map(({ start, end }) => `${start}-${end}`).join(',');
  const byName =
    rule.hosts === undefined
      ? ''
      : ` hosts ${rule.destination} ${rule.hosts.join(',')}${rule.routes === undefined ? '' : ` routes ${JSON.stringify(rule.routes)}`}`;
  return `g ${rule.protocol} ${ranges(rule.ips)} ${ranges(rule.ports)} ${rule.icmp_type ?? ''} ${rule.icmp_code ?? ''} ${rule.log === true ? 'log' : ''}${byName}`;
}

/** A security-group binding's allow source key (allowSourcesOf). */
export const groupSourceKey = (scope: GroupBinding[0], lifecycle: Lifecycle, target: string): string =>
  `group:${scope}:${lifecycle}:${target}`;

/**
 * A rule by host name's allow entries (a policy for one lifecycle or every app, snapshot-groups.ts):
 * whatever `names` allows for its destination's names, as for a plain policy's (http and https
 * allow nothing here: the cell's proxy matches them, layer7.ts).
 */
function byNameEntries(rule: NameRuleDocument, names: NameEnforcement): readonly AllowEntry[] {
  const part = { hosts: rule.hosts, ports: rule.ports, protocol: rule.protocol };
  return names.allowEntries(groupRuleId(rule), part, rule.destination);
}

/**
 * The allow entries of every binding, by its allow source key (groupSourceKey); a binding listed
 * twice gets the rules of both.
 */
function bindingEntries(section: SecurityGroupsSection | undefined, names: NameEnforcement): Map<string, AllowEntry[]> {
  const byBinding = new Map<string, Set<number>>();
  for (const [scope, lifecycle, target, indexes] of section?.bindings ?? []) {
    const key = groupSourceKey(scope, lifecycle, target);
    const rules = byBinding.get(key) ?? new Set<number>();
    for (const index of indexes) rules.add(index);
    byBinding.set(key, rules);
  }
  const entries = new Map<string, AllowEntry[]>();
  for (const [key, indexes] of byBinding) {
    const list: AllowEntry[] = [];
    for (const index of indexes) {
      const rule = section?.rules[index];
      if (rule === undefined) throw new Error(`security group binding ${key} points past the rules: ${index}`);
      // Most rules: their addresses, one entry (no array per rule: thousands of bindings share rules).
      if (rule.hosts === undefined) list.push({ id: groupRuleId(rule), destination: rule });
      else list.push(...byNameEntries(rule, names));
    }
    if (list.length > 0) entries.set(key, list);
  }
  return entries;
}

/**
 * The bindings that apply to a container, in jump order: global, its app's (egress policies for
 * one lifecycle), its space's, its organisation's.
 */
function bindingsOf(container: Container): { key: string; chain: string }[] {
  const { lifecycle } = container;
  const bindings: [GroupBinding[0], string][] = [
    ['global', ''],
    // Egress policies for one lifecycle (or for every app, global above) travel as bindings.
    ['app', container.appId],
    ['space', container.spaceId],
  ];
  if (container.orgId !== undefined) bindings.push(['organization', container.orgId]);
  return bindings.map(([scope, target]) => ({
    key: groupSourceKey(scope, lifecycle, target),
    chain: groupChain(scope, lifecycle, target),
  }));
}

/**
 * A container's allow sources in jump order: v1 app and space (every lifecycle), then its bindings.
 * `key` is `app:<id>`, `space:<id>` or `group:<binding>` (allowEntriesBySource); the proxy's plan
 * (layer7.ts) finds a container's allowances by the same keys.
 */
export function allowSourcesOf(container: Container): { key: string; chain: string }[] {
  return [
    { key: `app:${container.appId}`, chain: appChain(container.appId) },
    { key: `space:${container.spaceId}`, chain: spaceChain(container.spaceId) },
    ...bindingsOf(container),
  ];
}

/**
 * Every source's allow entries by its key (allowSourcesOf): v1 policies by app and space, then each
 * security-group binding's. A source whose policies allow nothing (every destination matched by a
 * name `names` does not enforce) is left out, as if it had none.
 */
export function allowEntriesBySource(policies: PoliciesWithGroups, names: NameEnforcement): Map<string, AllowEntry[]> {
  const bySource = new Map<string, AllowEntry[]>();
  for (const policy of policies.egress_policies) {
    const entries = destinationAllowEntries(policy.id, policy.destination, names);
    if (entries.length === 0) continue;
    const key = `${policy.source.type}:${policy.source.id}`;
    const list = bySource.get(key);
    if (list === undefined) bySource.set(key, entries);
    else list.push(...entries);
  }
  for (const [key, entries] of bindingEntries(policies.security_groups, names)) bySource.set(key, entries);
  return bySource;
}

/**
 * The end of the root chain for overlay sources no dispatch rule took. Open connections and replies
 * (to inbound connections too) go back to FORWARD untouched, as they did before; new ones are refused.
 */
function unknownSourceRules(overlayCidr: string, unknownSources: UnknownSources, denyLog?: DenyLogSetting): Rule[] {
  if (unknownSources === 'allow') return [];
  return [
    { match: { source: overlayCidr, conntrack: ['RELATED', 'ESTABLISHED'] }, action: { kind: 'return' } },
    // One limit shared by every unlisted source: their lines carry no container identity.
    ...denyLogRules({ source: overlayCidr }, denyLog, false),
    ...rejectRules({ source: overlayCidr }),
  ];
}

/** What a caller may do while a plan is made (nothing the plan depends on). */
export interface PlanHooks {
  /**
   * Called once per set as soon as the plan holds it, members before the list:sets naming them:
   * the agent starts creating new sets in the kernel while the rest is planned (sync.ts).
   */
  readonly onSet?: (set: IpSet) => void;
  /**
   * What a planner that stays resident kept from its last plan (plan-cache.ts): sources whose input
   * is unchanged are not grouped or planned again. The plan is the same with or without it.
   */
  readonly cache?: PlanCache;
}

/** Chains and sets enforcing `policies` for `containers` (as returned by the sources, sorted by IP). */
export function planRules(
  policies: PoliciesWithGroups,
  containers: readonly Container[],
  options: PlanOptions = {},
  hooks: PlanHooks = {},
): RulePlan {
  const overlayCidr = normalizeCidr(options.overlayCidr ?? DEFAULT_OVERLAY_CIDR);
  const setThreshold = options.setThreshold ?? DEFAULT_SET_THRESHOLD;
  const unknownSources = options.unknownSources ?? DEFAULT_UNKNOWN_SOURCES;
  const denyNetworks = options.denyNetworks ?? NO_DENY_NETWORKS;

  // Host names allow what `names` says (name-enforcement.ts). A source whose policies allow nothing
  // (every destination matched by a name that is not enforced) gets no chain, as if it had none.
  const names = options.names ?? NOT_ENFORCED_BY_NAME;
  const bySource = allowEntriesBySource(policies, names);
  const sorted = [...containers].sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));
  const logGroup = allowLogGroup(options.denyLog ?? DEFAULT_DENY_LOG);
  const { cache } = hooks;
  cache?.begin(setThreshold, logGroup);
  // Only the sources of this cell's containers get chains; what they share is decided across all of them.
  const groupsBySource = new Map<string, SourceGroups>();
  const memo = new PlanMemo();
  for (const container of sorted) {
    for (const { key } of allowSourcesOf(container)) {
      const own = bySource.get(key);
      if (own === undefined || groupsBySource.has(key)) continue;
      const group = () => sourceGroups(groupByService(own, memo), setThreshold);
      groupsBySource.set(key, cache === undefined ? group() : cache.groups(key, own, group));
    }
  }
  const shared = findSharedDestinations([...groupsBySource.values()].flatMap((source) => source.withSets));

  const sourceChains = new Map<string, Chain>();
  const sets = new Map<string, IpSet>();
  const hostSets = new Map<string, HostSet>();
  const sourceChain = (key: string, name: string): string | undefined => {
    if (sourceChains.has(name)) return name;
    const groups = groupsBySource.get(key);
    if (groups === undefined) return undefined;
    const make = () => allowRulesOf(groups.groups, setThreshold, shared, logGroup);
    const allow = cache === undefined ? make() : cache.rules(key, shared, make);
    for (const set of allow.sets) {
      if (sets.has(set.name)) continue;
      sets.set(set.name, set);
      hooks.onSet?.(set);
    }
    for (const hostSet of allow.hostSets) hostSets.set(hostSet.name, hostSet);
    sourceChains.set(name, { name, rules: allow.rules });
    return name;
  };

  const containerChains: Chain[] = sorted.map((container) => {
    const allow = allowSourcesOf(container).flatMap(({ key, chain }) => sourceChain(key, chain) ?? []);
    const denied = deniedFor(denyNetworks, container.lifecycle);
    return { name: containerChain(container.ip), rules: containerRules(allow, denied, options.denyLog) };
  });

  // Dispatch tree: /24 → /28 → /32, built only where containers are.
  const dispatch: Chain[] = [];
  const rootRules: Rule[] = [{ match: { destination: overlayCidr }, action: { kind: 'return' } }];
  for (const [block24, in24] of groupBy(sorted, (c) => enclosingCidr(c.ip, 24))) {
    const rules24: Rule[] = [];
    for (const [block28, in28] of groupBy(in24, (c) => enclosingCidr(c.ip, 28))) {
      const rules28: Rule[] = in28.map((c) => ({
        match: { source: `${c.ip}/32` },
        action: jump(containerChain(c.ip)),
      }));
      dispatch.push({ name: dispatchChain(block28), rules: rules28 });
      rules24.push({ match: { source: block28 }, action: jump(dispatchChain(block28)) });
    }
    dispatch.push({ name: dispatchChain(block24), rules: rules24 });
    rootRules.push({ match: { source: block24 }, action: jump(dispatchChain(block24)) });
  }
  // After every dispatch jump: a listed container's chain never returns (it ends in REJECT).
  rootRules.push(...unknownSourceRules(overlayCidr, unknownSources, options.denyLog));

  cache?.end();
  return {
    chains: [{ name: ROOT_CHAIN, rules: rootRules }, ...dispatch, ...containerChains, ...sourceChains.values()],
    sets: [...sets.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    ...(hostSets.size === 0 ? {} : { hostSets: [...hostSets.values()].sort((a, b) => (a.name < b.name ? -1 : 1)) }),
  };
}
