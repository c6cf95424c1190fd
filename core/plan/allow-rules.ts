// The allow rules of one source (an app, a space or a security-group binding) and the ipsets they
// use. Pure.
//
// Policies are grouped by service (protocol and ports). A service with few destination ranges gets one
// rule per range; one with `setThreshold` or more matches a set instead. Two or more such services of
// one tcp or udp port each, with addresses of the source's own, share one hash:net,port set and rule
// (not in a source with a logged service).
// A destination (one policy's addresses) that many sources' sets would each copy is defined once, in
// a set of its own that each of those sources lists (a list:set holding the source's own addresses
// and the shared destinations), when that saves more than the extra sets and references cost
// (SET_COST_IN_MEMBERS, referenceCostInMembers). A one-block destination is always copied: a reference costs more than its
// one member. So a wide destination many sources use costs its addresses once plus one reference per
// source, not its addresses per source.
import { ipv4ToNumber } from '../domain/ipv4.js';
import { ICMP_ANY } from '../domain/schemas.js';
import { mergeSpans, rangeAsCidr, type Span } from './cidr.js';
import { ALLOW_LOG_PREFIX, DEFAULT_LOG_GROUP } from './deny-log.js';
import type { HostSet, IpSet, Match, Rule } from './model.js';
import { listSetName, setName } from './names.js';
import { type NestedBlocks, nestedBlockCount, nestedBlocks } from './nested-blocks.js';

interface Range {
  readonly start: string;
  readonly end: string;
}

/**
 * What one allow rule is made from: a v1 egress policy, or a security-group rule (plan.ts gives
 * those ids `g<index>`). `ids` order the rules of a source. `all` matches every protocol; icmp type
 * -1 is any type (its code then ignored), code -1 any code of the type. A tcp or udp entry without
 * ports opens nothing. Its destination is either address ranges or a host set (HostSetDestination).
 */
export type { HostSet } from './model.js';

export interface AllowEntry {
  readonly id: string;
  readonly destination: AddressDestination | HostSetDestination;
}

/** Destination address ranges, matched by the rules and the plan's own sets. */
export interface AddressDestination {
  readonly ips: readonly Range[];
  readonly ports?: readonly { readonly start: number; readonly end: number }[];
  readonly protocol: 'tcp' | 'udp' | 'icmp' | 'all';
  readonly icmp_type?: number;
  readonly icmp_code?: number;
  /** A security group rule's `log`: its accepted connections are logged (ALLOW_LOG_PREFIX). */
  readonly log?: boolean;
  readonly hostSet?: undefined;
}

/** The addresses are the members of `hostSet`, whatever they are when a packet is matched. */
export interface HostSetDestination {
  readonly hostSet: HostSet;
  readonly ports?: readonly { readonly start: number; readonly end: number }[];
  readonly protocol: 'tcp' | 'udp' | 'all';
  readonly ips?: undefined;
  readonly log?: undefined;
  readonly icmp_type?: undefined;
  readonly icmp_code?: undefined;
}
type Policy = AllowEntry;

/** The protocol/port part of an allow rule; destinations are grouped under it. */
interface Service {
  readonly key: string;
  readonly match: Match;
  /** Log what it accepts; a logged service is grouped apart from the same service unlogged. */
  readonly log: boolean;
}

/**
 * One policy's addresses; `key` names the ranges (equal ranges, equal key). `spans`, the ranges as
 * numbers merged (mergeSpans), are worked out when first asked for: deciding what sources share needs
 * only keys, so the merging happens while sources' rules and sets are made, and the agent can start
 * creating sets early (PlanHooks.onSet) instead of after every destination of the cell is merged.
 */
class Destination {
  private merged: readonly Span[] | undefined;

  constructor(
    readonly key: string,
    readonly ranges: readonly Range[],
  ) {}

  get spans(): readonly Span[] {
    this.merged ??=
      this.ranges.length === 1 && this.ranges[0] !== undefined
        ? [{ first: ipv4ToNumber(this.ranges[0].start), last: ipv4ToNumber(this.ranges[0].end) }]
        : mergeSpans(spansOf(this.ranges));
    return this.merged;
  }
}

/** One service of one source: its distinct destinations and host sets, each in policy-id order. */
export interface ServiceGroup {
  readonly service: Service;
  readonly destinations: Destination[];
  /** Matched one rule each, after the destinations' rules (never merged into the plan's sets). */
  readonly hostSets: HostSet[];
}

/**
 * What planning one cell works out once, however many sources hold the same thing: destinations
 * and services repeat across sources, and a security-group rule is one object however many bindings
 * list it. Lives for one plan (plain Maps: cheaper to fill than WeakMaps, dropped with the plan).
 */
export class PlanMemo {
  readonly destinations = new Map<readonly Range[], Destination>();
  readonly destinationByKey = new Map<string, Destination>();
  readonly serviceByKey = new Map<string, Service>();
}

function internService(memo: PlanMemo, key: string, match: () => Match, log: boolean): Service {
  let service = memo.serviceByKey.get(key);
  if (service === undefined) {
    service = { key, match: match(), log };
    memo.serviceByKey.set(key, service);
  }
  return service;
}

function servicesOf(memo: PlanMemo, destination: Policy['destination']): readonly Service[] {
  const log = destination.log === true;
  const suffix = log ? ' log' : '';
  if (destination.protocol === 'icmp') {
    const type = destination.icmp_type ?? ICMP_ANY;
    const code = destination.icmp_code ?? ICMP_ANY;
    return type === ICMP_ANY
      ? [internService(memo, `icmp${suffix}`, () => ({ protocol: 'icmp' }), log)]
      : [internService(memo, `icmp ${type}/${code}${suffix}`, () => ({ protocol: 'icmp', icmp: { type, code } }), log)];
  }
  if (destination.protocol === 'all') return [internService(memo, `all${suffix}`, () => ({}), log)];
  const protocol = destination.protocol;
  return (destination.ports ?? []).map(({ start, end }) =>
    internService(memo, `${protocol} ${start}:${end}${suffix}`, () => ({ protocol, ports: { start, end } }), log),
  );
}

const rangeKey = (range: Range): string => `${range.start}-${range.end}`;

/**
 * One-range destinations (every v1 destination) are found by their key, which is cheap to make;
 * a list of ranges (a security-group rule's, up to thousands) by its identity, so that a rule bound
 * to many spaces is keyed once.
 */
function destinationOf(memo: PlanMemo, ips: readonly Range[]): Destination {
  const [only] = ips;
  if (ips.length === 1 && only !== undefined) {
    const key = rangeKey(only);
    let found = memo.destinationByKey.get(key);
    if (found === undefined) {
      found = new Destination(key, ips);
      memo.destinationByKey.set(key, found);
    }
    return found;
  }
  let found = memo.destinations.get(ips);
  if (found === undefined) {
    found = new Destination(ips.map(rangeKey).join(','), ips);
    memo.destinations.set(ips, found);
  }
  return found;
}

/** One source's policies grouped by service. Order follows policy ids, so a change keeps other rules in place. */
export function groupByService(policies: readonly Policy[], memo: PlanMemo = new PlanMemo()): ServiceGroup[] {
  const groups = new Map<string, ServiceGroup & { seen: Set<string> }>();
  const sorted = [...policies].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const policy of sorted) {
    const { hostSet } = policy.destination;
    // A host set's name is its key; it cannot be an address key (those hold digits and dots only).
    const destination = hostSet === undefined ? destinationOf(memo, policy.destination.ips) : undefined;
    const key = destination === undefined ? (hostSet?.name ?? '') : destination.key;
    for (const service of servicesOf(memo, policy.destination)) {
      let group = groups.get(service.key);
      if (group === undefined) {
        group = { service, destinations: [], hostSets: [], seen: new Set() };
        groups.set(service.key, group);
      }
      if (group.seen.has(key)) continue;
      group.seen.add(key);
      if (destination !== undefined) group.destinations.push(destination);
      else if (hostSet !== undefined) group.hostSets.push(hostSet);
    }
  }
  return [...groups.values()].map(({ service, destinations, hostSets }) => ({ service, destinations, hostSets }));
}

/**
 * A group's distinct ranges, in order, when there are fewer than `limit` (it then gets one rule per
 * range); undefined when there are `limit` or more (it then uses a set). Stops counting at `limit`.
 */
function fewRanges(group: ServiceGroup, limit: number): Range[] | undefined {
  const seen = new Set<string>();
  const ranges: Range[] = [];
  for (const destination of group.destinations) {
    for (const range of destination.ranges) {
      const key = rangeKey(range);
      if (seen.has(key)) continue;
      if (ranges.length + 1 >= limit) return undefined;
      seen.add(key);
      ranges.push(range);
    }
  }
  return ranges;
}

/** Whether a group matches a set (it has `setThreshold` or more distinct ranges) rather than a rule per range. */
export function usesSet(group: ServiceGroup, setThreshold: number): boolean {
  return fewRanges(group, setThreshold) === undefined;
}

/**
 * Ranges as a hash:net set's entries: merged (mergeSpans), then the fewest blocks, some of them nomatch
 * holes (nested-blocks.ts). Equal addresses give equal entries however their ranges were spelled.
 */
export function setEntries(ranges: readonly Range[]): NestedBlocks {
  return nestedBlocks(spansOf(ranges));
}

/** A set of `entries`, named by them; `nomatch` only when there are holes. */
function ownedSet(type: 'hash:net' | 'hash:net,port', entries: NestedBlocks): IpSet {
  const { members, nomatch } = entries;
  const name = setName(members, nomatch);
  return nomatch.length === 0 ? { name, type, members } : { name, type, members, nomatch };
}

/** Validated ranges (schemas.ts: two addresses, start not after end) as numbers. */
function spansOf(ranges: readonly Range[]): Span[] {
  return ranges.map((range) => ({ first: ipv4ToNumber(range.start), last: ipv4ToNumber(range.end) }));
}

/**
 * What creating one set costs `ipset restore`, in members (measured: about 60 µs a set, 3.5 µs a member).
 * Sharing a destination costs its set, one reference per source listing it, and a list:set in each
 * source whose set it was part of; it saves the copies.
 */
export const SET_COST_IN_MEMBERS = 17;

/**
 * What one list:set reference costs, in members, on a cell holding `sets` sets: the kernel looks a
 * member set up by name through every set (measured: 16 µs a reference among 1,000 sets, 50-90 µs
 * among 10,000-20,000).
 */
export function referenceCostInMembers(sets: number): number {
  return 3 + sets / 700;
}

/**
 * A destination's addresses as set members, its set's name (computed once) and how many groups use
 * it. Counting uses needs none of the addresses; they are merged and counted when first asked for.
 */
class DestinationSet {
  uses = 0;
  private cachedSet: IpSet | undefined;
  private cachedSize: number | undefined;

  constructor(private readonly destination: Destination) {}

  /** The addresses, merged. */
  get spans(): readonly Span[] {
    return this.destination.spans;
  }

  /**
   * How many entries they make: counted, not written out, since most destinations are copied into
   * their sources' sets and never need a set of their own.
   */
  get size(): number {
    this.cachedSize ??= nestedBlockCount(this.spans);
    return this.cachedSize;
  }

  /** The destination's own set, when it is shared. */
  get set(): IpSet {
    this.cachedSet ??= ownedSet('hash:net', nestedBlocks(this.spans));
    return this.cachedSet;
  }
}

/** What the sets of every source on the cell have in common, decided before any source's rules. */
export class SharedDestinations {
  /** @param referenceCost members one list:set reference costs (referenceCostInMembers) */
  constructor(readonly referenceCost = referenceCostInMembers(0)) {}

  private readonly byKey = new Map<string, DestinationSet>();

  /**
   * One entry per destination spelling (its ranges). Two spellings of the same addresses are two
   * entries: they then share less, never allow anything else (their members are equal, and so are
   * their set names).
   */
  of(destination: Destination): DestinationSet {
    let found = this.byKey.get(destination.key);
    if (found === undefined) {
      found = new DestinationSet(destination);
      this.byKey.set(destination.key, found);
    }
    return found;
  }

  /**
   * What listing this destination instead of copying it saves one group, in members: its copy, less
   * the reference and this group's part of the shared set. Zero or less: copy it. With the v1 API's
   * one range per destination (at most 62 blocks, most often one or two) copying usually wins; lists
   * pay for wide destinations many sources use.
   */
  gain(destination: Destination): number {
    const set = this.of(destination);
    // One use: the formula below with uses 1, never a gain, and its size need not be worked out.
    if (set.uses <= 1) return -this.referenceCost - SET_COST_IN_MEMBERS;
    return set.size - this.referenceCost - (SET_COST_IN_MEMBERS + set.size) / set.uses;
  }
}

/** One source's service groups, and those of them that match a set (usesSet). */
export interface SourceGroups {
  readonly groups: ServiceGroup[];
  readonly withSets: readonly ServiceGroup[];
}

export function sourceGroups(groups: ServiceGroup[], setThreshold: number): SourceGroups {
  return { groups, withSets: groups.filter((group) => usesSet(group, setThreshold)) };
}

/**
 * Counts, for every destination, the groups whose sets would hold it. `withSets` is every group
 * matching a set (SourceGroups.withSets) of every source whose rules are planned.
 */
export function findSharedDestinations(withSets: readonly ServiceGroup[]): SharedDestinations {
  // Without sharing, one set per such group: the table a reference is looked up in.
  const shared = new SharedDestinations(referenceCostInMembers(withSets.length));
  for (const group of withSets) {
    const counted = new Set<DestinationSet>();
    for (const destination of group.destinations) {
      const set = shared.of(destination);
      if (counted.has(set)) continue;
      counted.add(set);
      set.uses += 1;
    }
  }
  return shared;
}

/**
 * The destinations a group lists rather than copies: those that gain, if together they pay for the
 * group's list:set. (A group holding one destination only needs no decision: its own set has the
 * destination's content, so it is the shared set by name.)
 */
function listedDestinations(group: ServiceGroup, shared: SharedDestinations): Set<DestinationSet> {
  const gaining = new Map<DestinationSet, number>();
  for (const destination of group.destinations) {
    const gain = shared.gain(destination);
    if (gain > 0) gaining.set(shared.of(destination), gain);
  }
  const total = [...gaining.values()].reduce((sum, gain) => sum + gain, 0);
  return total > SET_COST_IN_MEMBERS ? new Set(gaining.keys()) : new Set();
}

/**
 * A service one hash:net,port entry can name: tcp or udp to one port, not logged (a logged service's
 * NFLOG rule needs a match of its own).
 */
function portOf(service: Service): string | undefined {
  const { protocol, ports } = service.match;
  if (service.log || (protocol !== 'tcp' && protocol !== 'udp') || ports === undefined) return undefined;
  return ports.start === ports.end ? `${protocol}:${ports.start}` : undefined;
}

/** What a group with a set holds: the shared destinations it lists and its own addresses. */
interface GroupSets {
  readonly listed: Set<DestinationSet>;
  readonly own: Span[];
}

function groupSets(group: ServiceGroup, shared: SharedDestinations): GroupSets {
  const listed = listedDestinations(group, shared);
  const own: Span[] = [];
  // By identity, not by name: a destination that is copied never needs its set's name (a hash).
  for (const destination of group.destinations) {
    const set = shared.of(destination);
    if (!listed.has(set)) own.push(...set.spans);
  }
  return { listed, own };
}

/**
 * One hash:net,port set for the own addresses of a source's single-port services: entries
 * `<block>,<protocol>:<port>`, holes included (the kernel decides each protocol and port apart). One set
 * and one rule where each service had its own: `ipset restore` spends its time per set (a cell of
 * 1,000 apps × 10 services held 10,000 sets), and the rules are fewer too.
 */
function portSet(groups: readonly { port: string; own: readonly Span[] }[]): IpSet {
  const members: string[] = [];
  const nomatch: string[] = [];
  for (const { port, own } of groups) {
    const entries = nestedBlocks(own);
    for (const block of entries.members) members.push(`${block},${port}`);
    for (const block of entries.nomatch) nomatch.push(`${block},${port}`);
  }
  return ownedSet('hash:net,port', { members, nomatch });
}

/** One source's allow rules and the sets they use. */
export interface AllowRules {
  readonly rules: Rule[];
  readonly sets: IpSet[];
  readonly hostSets: HostSet[];
}

/** The allow rules of one source's service groups, and the sets they use. */
export function allowRulesOf(
  groups: readonly ServiceGroup[],
  setThreshold: number,
  shared: SharedDestinations = new SharedDestinations(),
  logGroup: number = DEFAULT_LOG_GROUP,
): AllowRules {
  const rules: Rule[] = [];
  const sets: IpSet[] = [];
  const hostSets = new Map<string, HostSet>();
  // A logged service's accept comes after an NFLOG rule of the same match, which goes on to it.
  const accept = (service: Service, match: Match): void => {
    if (service.log) rules.push({ match, action: { kind: 'nflog', group: logGroup, prefix: ALLOW_LOG_PREFIX } });
    rules.push({ match, action: { kind: 'accept' } });
  };
  // After the group's address rules: one rule per host set (their members are the cell's to keep).
  const acceptHostSets = (group: ServiceGroup): void => {
    for (const hostSet of group.hostSets) {
      hostSets.set(hostSet.name, hostSet);
      accept(group.service, { ...group.service.match, destinationSet: hostSet.name });
    }
  };
  const few = new Map<ServiceGroup, Range[]>();
  const withSets = new Map<ServiceGroup, GroupSets>();
  const ported: { port: string; own: readonly Span[] }[] = [];
  const inPortSet = new Set<ServiceGroup>();
  for (const group of groups) {
    const ranges = fewRanges(group, setThreshold);
    if (ranges !== undefined) {
      few.set(group, ranges);
      continue;
    }
    const held = groupSets(group, shared);
    withSets.set(group, held);
    const port = portOf(group.service);
    if (port !== undefined && held.listed.size === 0 && held.own.length > 0) {
      ported.push({ port, own: held.own });
      inPortSet.add(group);
    }
  }
  // One service alone gains nothing from a port set: it keeps its hash:net set. Nor does a source
  // with a logged service: the port set's rule would move unlogged accepts ahead of a logged rule of
  // the same port, and connections both allow, logged until then, would go unlogged.
  if (ported.length < 2 || groups.some((group) => group.service.log)) inPortSet.clear();
  let portSetWritten = false;
  for (const group of groups) {
    const held = withSets.get(group);
    if (held === undefined) {
      for (const range of few.get(group) ?? []) {
        const cidr = rangeAsCidr(range.start, range.end);
        const where: Match = cidr === undefined ? { destinationRange: range } : { destination: cidr };
        accept(group.service, { ...group.service.match, ...where });
      }
      acceptHostSets(group);
      continue;
    }
    if (inPortSet.has(group)) {
      // The port set's rule goes where its first service's rule would have gone.
      if (!portSetWritten) {
        const set = portSet(ported);
        sets.push(set);
        rules.push({ match: { destinationPortSet: set.name }, action: { kind: 'accept' } });
        portSetWritten = true;
      }
      acceptHostSets(group);
      continue;
    }
    const listed = new Map<string, IpSet>();
    for (const { set } of held.listed) listed.set(set.name, set);
    if (held.own.length > 0) {
      const set = ownedSet('hash:net', nestedBlocks(held.own));
      listed.set(set.name, set);
    }
    sets.push(...listed.values());
    const names = [...listed.keys()].sort();
    const [only] = names;
    if (only !== undefined) {
      let matchSet = only;
      if (names.length > 1) {
        const list: IpSet = { name: listSetName(names), type: 'list:set', members: names };
        sets.push(list);
        matchSet = list.name;
      }
      accept(group.service, { ...group.service.match, destinationSet: matchSet });
    }
    acceptHostSets(group);
  }
  return { rules, sets, hostSets: [...hostSets.values()] };
}

/** The allow rules for one source's policies alone (nothing shared with other sources). */
export function planAllowRules(
  policies: readonly Policy[],
  setThreshold: number,
): { rules: Rule[]; sets: IpSet[]; hostSets: HostSet[] } {
  return allowRulesOf(groupByService(policies, new PlanMemo()), setThreshold);
}
