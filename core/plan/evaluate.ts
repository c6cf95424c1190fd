// Walks a plan the way the kernel walks the chains it becomes: one new connection's first packet in,
// the rule that decided it out. Pure. The API's explain (explain.ts) answers from this walk over the
// very plan a cell would program, so an explanation cannot disagree with what the cell enforces; the
// netns test of explain compares the two with real connections.
import { ipv4ToNumber } from '../domain/ipv4.js';
import { inCidr } from './cidr.js';
import type { Chain, IpSet, Match, Rule, RulePlan } from './model.js';
import { ROOT_CHAIN } from './names.js';

/** The first packet of a new connection (conntrack state NEW) leaving a container. */
export interface Packet {
  readonly source: string;
  readonly destination: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** Destination port, tcp and udp. */
  readonly port?: number;
  /** icmp only. */
  readonly icmp?: { readonly type: number; readonly code: number };
}

/** Where a walk stopped: the chain, the rule's index in it and the rule. */
export interface DecidingRule {
  readonly chain: string;
  readonly index: number;
  readonly rule: Rule;
}

/**
 * `accept`, `reject`: a rule of ours decided. `pass`: the root chain returned, so FORWARD goes on as
 * if the agent were not there (the packet is not egress of a listed container, or unknown sources
 * are allowed).
 */
export type Evaluation =
  | { readonly verdict: 'accept' | 'reject'; readonly decidedBy: DecidingRule }
  | { readonly verdict: 'pass'; readonly decidedBy?: DecidingRule };

/** iptables refuses a chain deeper than this; a plan never nests more than a few levels. */
const MAX_DEPTH = 32;

/**
 * `hostSetMembers`: the addresses a cell's host sets (RulePlan.hostSets) hold, by set name, for a walk
 * as that cell would do it; a host set not given is empty (its names resolved to nothing).
 */
export function evaluatePlan(
  plan: RulePlan,
  packet: Packet,
  hostSetMembers: ReadonlyMap<string, readonly string[]> = new Map(),
): Evaluation {
  const chains = new Map<string, Chain>(plan.chains.map((chain) => [chain.name, chain]));
  const sets = new Map<string, IpSet>(plan.sets.map((set) => [set.name, set]));
  for (const { name } of plan.hostSets ?? []) {
    const members = (hostSetMembers.get(name) ?? []).map((address) => `${address}/32`);
    sets.set(name, { name, type: 'hash:net', members });
  }
  const walk = (name: string, depth: number): Evaluation | undefined => {
    const chain = chains.get(name);
    if (chain === undefined) throw new Error(`plan jumps to a chain it does not define: ${name}`);
    if (depth > MAX_DEPTH) throw new Error(`plan nests chains deeper than ${MAX_DEPTH}: ${name}`);
    for (const [index, rule] of chain.rules.entries()) {
      if (!matches(rule.match, packet, sets)) continue;
      const { action } = rule;
      const here = { chain: name, index, rule };
      switch (action.kind) {
        case 'accept':
        case 'reject':
          return { verdict: action.kind, decidedBy: here };
        case 'return':
          return depth === 0 ? { verdict: 'pass', decidedBy: here } : undefined;
        case 'jump': {
          const below = walk(action.chain, depth + 1);
          if (below !== undefined) return below;
          break;
        }
        case 'nflog':
        case 'none':
          break;
      }
    }
    return depth === 0 ? { verdict: 'pass' } : undefined;
  };
  return walk(ROOT_CHAIN, 0) ?? { verdict: 'pass' };
}

function matches(match: Match, packet: Packet, sets: ReadonlyMap<string, IpSet>): boolean {
  // A new connection is neither ESTABLISHED nor RELATED.
  if (match.conntrack !== undefined) return false;
  if (match.protocol !== undefined && match.protocol !== packet.protocol) return false;
  if (match.source !== undefined && !inCidr(packet.source, match.source)) return false;
  if (match.destination !== undefined && !inCidr(packet.destination, match.destination)) return false;
  if (match.destinationRange !== undefined) {
    const address = ipv4ToNumber(packet.destination);
    const { start, end } = match.destinationRange;
    if (address < ipv4ToNumber(start) || address > ipv4ToNumber(end)) return false;
  }
  if (match.destinationSet !== undefined && !inSet(packet.destination, match.destinationSet, sets)) return false;
  if (match.destinationPortSet !== undefined && !inPortSet(packet, match.destinationPortSet, sets)) return false;
  if (match.ports !== undefined) {
    if (packet.port === undefined || packet.port < match.ports.start || packet.port > match.ports.end) return false;
  }
  if (match.icmp !== undefined) {
    if (packet.icmp === undefined || packet.icmp.type !== match.icmp.type) return false;
    if (match.icmp.code >= 0 && packet.icmp.code !== match.icmp.code) return false;
  }
  // `limit` and `limitPerSource` let the first packet through; `note` matches everything.
  return true;
}

/**
 * hash:net: the most specific block holding the address decides, as in the kernel: a member matches,
 * a nomatch block does not. list:set matches when one of the sets it lists does.
 */
function inSet(address: string, name: string, sets: ReadonlyMap<string, IpSet>): boolean {
  const set = sets.get(name);
  if (set === undefined) throw new Error(`plan matches a set it does not define: ${name}`);
  if (set.type === 'list:set') return set.members.some((member) => inSet(address, member, sets));
  return decided(address, set.members, set.nomatch ?? []);
}

/**
 * hash:net,port: entries `<block>,<protocol>:<port>`; among those of the packet's protocol and port,
 * the most specific block holding its destination decides. tcp and udp only: an icmp packet's type is
 * no port, and this plan writes no icmp entries.
 */
function inPortSet(packet: Packet, name: string, sets: ReadonlyMap<string, IpSet>): boolean {
  const set = sets.get(name);
  if (set === undefined || set.type !== 'hash:net,port') {
    throw new Error(`plan matches a hash:net,port set it does not define: ${name}`);
  }
  if (packet.protocol === 'icmp' || packet.port === undefined) return false;
  const suffix = `,${packet.protocol}:${packet.port}`;
  const blocks = (entries: readonly string[]) =>
    entries.filter((entry) => entry.endsWith(suffix)).map((entry) => entry.slice(0, -suffix.length));
  return decided(packet.destination, blocks(set.members), blocks(set.nomatch ?? []));
}

/** Whether the most specific of `members` and `nomatch` holding `address` is a member. */
function decided(address: string, members: readonly string[], nomatch: readonly string[]): boolean {
  const member = longestPrefix(address, members);
  return member !== undefined && member > (longestPrefix(address, nomatch) ?? -1);
}

/** The longest prefix among `blocks` that holds `address`, or undefined when none does. */
function longestPrefix(address: string, blocks: readonly string[]): number | undefined {
  let longest: number | undefined;
  for (const block of blocks) {
    const prefix = Number(block.split('/')[1]);
    if (inCidr(address, block) && (longest === undefined || prefix > longest)) longest = prefix;
  }
  return longest;
}
