// What the cell's proxy enforces (issue 15 item 3), planned from the same desired state and the same
// containers as the filter rules (plan.ts). Pure.
//
// - One destination per http or https egress policy target: its hosts, ports and routes, and the
//   addresses of the containers the policy is for: v1 policies of apps and spaces, and policies for
//   one lifecycle or every app, which travel as security-group bindings holding rules by host name
//   (snapshot-groups.ts) and reach a container through its bindings as its filter rules do.
//   Security-group rules themselves have no hosts.
// - A container given one port as http through one destination and as https through another gets
//   neither destination, and the conflict is listed (layer7-conflicts.ts).
// - Per container, the tcp address ranges (and host sets: tcp destinations by exact name) its filter
//   rules already allow with their ports (`allowances`): connections to them on a port the proxy
//   intercepts must not be redirected to it, or an IP policy on port 443, say, would stop working
//   once the same app also has an https one.

import { ipv4ToNumber } from '../domain/ipv4.js';
import { isLayer7Protocol } from '../domain/model-primitives.js';
import type { PortRange } from '../domain/schemas.js';
import type { PoliciesWithGroups } from '../domain/snapshot-groups.js';
import { rangeToCidrs } from './cidr.js';
import { findLayer7Conflicts, type Layer7Conflict } from './layer7-conflicts.js';
import type { Container } from './model.js';
import { BY_HOST_SETS } from './name-enforcement.js';
import { allowEntriesBySource, allowSourcesOf, groupSourceKey } from './plan.js';

export type Layer7Protocol = 'http' | 'https';

/** One layer-7 destination and who may use it: the shape of the agent's L7Rule (agent/proxy/l7-rule.ts). */
export interface Layer7Destination {
  readonly id: string;
  readonly protocol: Layer7Protocol;
  readonly hosts: readonly string[];
  readonly ports: readonly PortRange[];
  readonly routes?: readonly {
    readonly methods?: readonly string[];
    readonly path_regex?: string;
    readonly headers?: Readonly<Record<string, string>>;
  }[];
  /** Container addresses, sorted. */
  readonly sources: readonly string[];
}

/**
 * Tcp connections a container's filter rules allow by address: to these CIDRs, or to the members of
 * these host sets (tcp destinations by exact name, name-enforcement.ts), on these ports (none: any).
 */
export interface AddressAllowance {
  readonly cidrs: readonly string[];
  readonly hostSets?: readonly string[];
  readonly ports?: readonly PortRange[];
}

export interface Layer7Plan {
  readonly destinations: readonly Layer7Destination[];
  /** By container address; only containers that use a layer-7 destination are listed. */
  readonly allowances: ReadonlyMap<string, readonly AddressAllowance[]>;
  /** Containers given one port as http and as https: left out of both destinations (layer7-conflicts.ts). */
  readonly conflicts: readonly Layer7Conflict[];
}

type Unsourced = Omit<Layer7Destination, 'sources'>;

export function planLayer7(policies: PoliciesWithGroups, containers: readonly Container[]): Layer7Plan {
  const bySource = layer7DestinationsBySource(policies);
  // Each container's destinations, each once.
  const claims = new Map<string, Map<string, Unsourced>>();
  if (bySource.size > 0) {
    for (const container of containers) {
      const own = claims.get(container.ip) ?? new Map<string, Unsourced>();
      for (const { key } of allowSourcesOf(container)) {
        for (const destination of bySource.get(key) ?? []) own.set(destination.id, destination);
      }
      if (own.size > 0) claims.set(container.ip, own);
    }
  }
  const { conflicts, withdrawn } = findLayer7Conflicts(
    new Map([...claims].map(([ip, own]) => [ip, [...own.values()]])),
  );
  const byDestination = new Map<string, { destination: Unsourced; sources: string[] }>();
  for (const [ip, own] of claims) {
    for (const destination of own.values()) {
      if (withdrawn.get(ip)?.has(destination.id) === true) continue;
      const entry = byDestination.get(destination.id) ?? { destination, sources: [] };
      entry.sources.push(ip);
      byDestination.set(destination.id, entry);
    }
  }
  const destinations = [...byDestination.values()]
    .map(({ destination, sources }) => ({ ...destination, sources: sources.sort(byAddress) }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const proxied = new Set(destinations.flatMap((destination) => destination.sources));
  conflicts.sort((a, b) => byAddress(a.source, b.source));
  return { destinations, allowances: allowancesOf(policies, containers, proxied), conflicts };
}

/**
 * The http and https destinations of every allow source, by its key (allowSourcesOf): v1 policies
 * of apps and spaces, and the rules by host name of security-group bindings (policies for one
 * lifecycle or every app, snapshot-groups.ts). A destination is the same wherever it comes from
 * (one id, one content).
 */
function layer7DestinationsBySource(policies: PoliciesWithGroups): Map<string, Unsourced[]> {
  const bySource = new Map<string, Unsourced[]>();
  const add = (key: string, destination: Unsourced) => {
    const list = bySource.get(key);
    if (list === undefined) bySource.set(key, [destination]);
    else list.push(destination);
  };
  for (const policy of policies.egress_policies) {
    const { destination } = policy;
    if (!isLayer7Protocol(destination.protocol) || destination.hosts === undefined || destination.hosts.length === 0)
      continue;
    add(`${policy.source.type}:${policy.source.id}`, {
      id: destination.id,
      protocol: destination.protocol,
      hosts: destination.hosts,
      ports: destination.ports,
      ...(destination.routes === undefined ? {} : { routes: destination.routes }),
    });
  }
  const section = policies.security_groups;
  for (const [scope, lifecycle, target, indexes] of section?.bindings ?? []) {
    for (const index of indexes) {
      const rule = section?.rules[index];
      if (rule?.hosts === undefined || !isLayer7Protocol(rule.protocol)) continue;
      add(groupSourceKey(scope, lifecycle, target), {
        id: rule.destination,
        protocol: rule.protocol,
        hosts: rule.hosts,
        ports: rule.ports,
        ...(rule.routes === undefined ? {} : { routes: rule.routes }),
      });
    }
  }
  return bySource;
}

/** The tcp allowances of each container in `proxied`, from the same entries its filter chains hold. */
function allowancesOf(
  policies: PoliciesWithGroups,
  containers: readonly Container[],
  proxied: ReadonlySet<string>,
): Map<string, AddressAllowance[]> {
  const allowances = new Map<string, AddressAllowance[]>();
  if (proxied.size === 0) return allowances;
  // The entries the cell's filter rules are planned from (the agent plans with BY_HOST_SETS).
  const bySource = allowEntriesBySource(policies, BY_HOST_SETS);
  for (const container of containers) {
    if (!proxied.has(container.ip)) continue;
    const own: AddressAllowance[] = [];
    for (const { key } of allowSourcesOf(container)) {
      for (const { destination } of bySource.get(key) ?? []) {
        if (destination.protocol !== 'tcp' && destination.protocol !== 'all') continue;
        const to =
          destination.hostSet === undefined
            ? { cidrs: destination.ips.flatMap((range) => rangeToCidrs(range.start, range.end)) }
            : { cidrs: [], hostSets: [destination.hostSet.name] };
        if (to.cidrs.length === 0 && to.hostSets === undefined) continue;
        // `all` opens every port; tcp only its ports (none: nothing, as in the filter rules).
        if (destination.protocol === 'all') own.push(to);
        else if ((destination.ports ?? []).length > 0) own.push({ ...to, ports: destination.ports ?? [] });
      }
    }
    allowances.set(container.ip, own);
  }
  return allowances;
}

const byAddress = (a: string, b: string): number => ipv4ToNumber(a) - ipv4ToNumber(b);
