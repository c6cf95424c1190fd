// Desired state → chains and sets, as data. Pure: no I/O, deterministic, same input → same plan.
//
// Layout (filter table):
//   FORWARD ─► dyneg-FORWARD: overlay destinations RETURN, then one rule per /24 holding containers,
//   │          then (unknownSources 'reject') the catch-all for every other overlay source:
//   │          ESTABLISHED,RELATED RETURN · REJECT
//     └► dyneg-d-<h> (/24): one rule per /28 holding containers
//         └► dyneg-d-<h> (/28): one rule per container IP (/32)
//             └► dyneg-c-<h>: ESTABLISHED,RELATED ACCEPT · jump app chain · jump space chain · REJECT
//                 ├► dyneg-a-<h>: the app's allow rules (shared by its containers)
//                 └► dyneg-s-<h>: the space's allow rules (shared by its containers)
// A packet walks at most ~(#/24 + 16 + 16) dispatch rules, then only its own container's rules.
// An overlay source that no /32 rule names falls off the end of the dispatch chains (iptables returns
// to the calling chain) and lands on the catch-all: the file is the only way into an allow list.
// Destinations sharing one protocol/port service are folded into a hash:net ipset when there are many.
import { ipv4ToNumber } from '../core/domain/ipv4.js';
import { ICMP_ANY } from '../core/domain/schemas.js';
import type { EgressPolicyList } from '../core/domain/types.js';
import { type Block, blockToCidr, enclosingCidr, normalizeCidr, rangeAsCidr, rangeToBlocks } from './cidr.js';
import { DEFAULT_DENY_LOG, DENY_LOG_PREFIX, type DenyLogSetting } from './deny-log.js';
import type { Chain, Container, IpSet, Match, Rule, RulePlan } from './model.js';
import { appChain, containerChain, dispatchChain, ROOT_CHAIN, setName, spaceChain } from './names.js';

export interface PlanOptions {
  /** Container-to-container network; traffic to it is not egress. @default '10.255.0.0/16' */
  readonly overlayCidr?: string;
  /** A service with at least this many destination ranges uses an ipset (see docs/agent.md). @default 8 */
  readonly setThreshold?: number;
  /** What happens to new connections from overlay sources the containers file does not list. @default 'reject' */
  readonly unknownSources?: UnknownSources;
  /** Log what is refused, rate-limited per container, to an NFLOG group (deny-log.ts). @default DEFAULT_DENY_LOG */
  readonly denyLog?: DenyLogSetting;
}

export const DEFAULT_OVERLAY_CIDR = '10.255.0.0/16';
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

type Policy = EgressPolicyList['egress_policies'][number];

/** The protocol/port part of an allow rule; destinations are grouped under it. */
interface Service {
  readonly key: string;
  readonly match: Match;
}

interface ServiceGroup {
  readonly service: Service;
  readonly ranges: { start: string; end: string }[];
  readonly seen: Set<string>;
}

function servicesOf(destination: Policy['destination']): Service[] {
  if (destination.protocol === 'icmp') {
    const type = destination.icmp_type ?? ICMP_ANY;
    const code = destination.icmp_code ?? ICMP_ANY;
    if (type === ICMP_ANY) return [{ key: 'icmp', match: { protocol: 'icmp' } }];
    return [{ key: `icmp ${type}/${code}`, match: { protocol: 'icmp', icmp: { type, code } } }];
  }
  return destination.ports.map((ports) => ({
    key: `${destination.protocol} ${ports.start}:${ports.end}`,
    match: { protocol: destination.protocol, ports: { start: ports.start, end: ports.end } },
  }));
}

/** The allow rules for one source's policies, plus the sets they use. Order follows policy ids. */
export function planAllowRules(policies: readonly Policy[], setThreshold: number): { rules: Rule[]; sets: IpSet[] } {
  const groups = new Map<string, ServiceGroup>();
  const sorted = [...policies].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const policy of sorted) {
    for (const service of servicesOf(policy.destination)) {
      let group = groups.get(service.key);
      if (group === undefined) {
        group = { service, ranges: [], seen: new Set() };
        groups.set(service.key, group);
      }
      for (const range of policy.destination.ips) {
        const key = `${range.start}-${range.end}`;
        if (group.seen.has(key)) continue;
        group.seen.add(key);
        group.ranges.push({ start: range.start, end: range.end });
      }
    }
  }
  const rules: Rule[] = [];
  const sets: IpSet[] = [];
  for (const group of groups.values()) {
    if (group.ranges.length >= setThreshold) {
      const members = uniqueSortedCidrs(group.ranges);
      const set: IpSet = { name: setName(members), type: 'hash:net', members };
      sets.push(set);
      rules.push({ match: { ...group.service.match, destinationSet: set.name }, action: { kind: 'accept' } });
      continue;
    }
    for (const range of group.ranges) {
      const cidr = rangeAsCidr(range.start, range.end);
      const where: Match = cidr === undefined ? { destinationRange: range } : { destination: cidr };
      rules.push({ match: { ...group.service.match, ...where }, action: { kind: 'accept' } });
    }
  }
  return { rules, sets };
}

/** Members of a destination set: the ranges as CIDR blocks, unique, sorted by address then prefix. */
function uniqueSortedCidrs(ranges: readonly { start: string; end: string }[]): string[] {
  const blocks = new Map<number, Block>();
  for (const range of ranges) {
    for (const block of rangeToBlocks(range.start, range.end)) blocks.set(block.base * 64 + block.prefix, block);
  }
  return [...blocks.entries()].sort((a, b) => a[0] - b[0]).map(([, block]) => blockToCidr(block));
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
 * Before a reject: hand the packet to the log daemon, at most `rate` of them. The limit lives in the
 * rule, so one in each container's own chain limits each container on its own.
 */
function denyLogRules(match: Match, denyLog: DenyLogSetting = DEFAULT_DENY_LOG): Rule[] {
  if (denyLog === 'off') return [];
  return [
    {
      match: { ...match, limit: denyLog.rate },
      action: { kind: 'nflog', group: denyLog.group, prefix: DENY_LOG_PREFIX },
    },
  ];
}

function containerRules(app: string | undefined, space: string | undefined, denyLog?: DenyLogSetting): Rule[] {
  const rules: Rule[] = [{ match: { conntrack: ['RELATED', 'ESTABLISHED'] }, action: { kind: 'accept' } }];
  if (app !== undefined) rules.push({ match: {}, action: jump(app) });
  if (space !== undefined) rules.push({ match: {}, action: jump(space) });
  rules.push(...denyLogRules({}, denyLog), ...rejectRules({}));
  return rules;
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
    ...denyLogRules({ source: overlayCidr }, denyLog),
    ...rejectRules({ source: overlayCidr }),
  ];
}

/** Chains and sets enforcing `policies` for `containers` (as returned by the sources, sorted by IP). */
export function planRules(
  policies: EgressPolicyList,
  containers: readonly Container[],
  options: PlanOptions = {},
): RulePlan {
  const overlayCidr = normalizeCidr(options.overlayCidr ?? DEFAULT_OVERLAY_CIDR);
  const setThreshold = options.setThreshold ?? DEFAULT_SET_THRESHOLD;
  const unknownSources = options.unknownSources ?? DEFAULT_UNKNOWN_SOURCES;

  const bySource = groupBy(policies.egress_policies, (policy) => `${policy.source.type}:${policy.source.id}`);
  const sourceChains = new Map<string, Chain>();
  const sets = new Map<string, IpSet>();
  const sourceChain = (key: string, name: string): string | undefined => {
    if (sourceChains.has(name)) return name;
    const own = bySource.get(key);
    if (own === undefined) return undefined;
    const allow = planAllowRules(own, setThreshold);
    for (const set of allow.sets) sets.set(set.name, set);
    sourceChains.set(name, { name, rules: allow.rules });
    return name;
  };

  const sorted = [...containers].sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));
  const containerChains: Chain[] = sorted.map((container) => {
    const app = sourceChain(`app:${container.appId}`, appChain(container.appId));
    const space = sourceChain(`space:${container.spaceId}`, spaceChain(container.spaceId));
    return { name: containerChain(container.ip), rules: containerRules(app, space, options.denyLog) };
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

  return {
    chains: [{ name: ROOT_CHAIN, rules: rootRules }, ...dispatch, ...containerChains, ...sourceChains.values()],
    sets: [...sets.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
}
