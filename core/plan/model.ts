// The agent's picture of the dataplane as plain data: what `plan` produces, `render` prints and
// `table` diffs. Nothing here touches the kernel.
import type { PacketProtocol, PortRange } from '../domain/schemas.js';
import type { Lifecycle } from '../domain/security-group.js';
import type { LogRate } from './deny-log.js';

/** One container on this cell, as the agent needs it (validated upstream). */
export interface Container {
  readonly ip: string;
  readonly appId: string;
  readonly spaceId: string;
  /** Its organisation, when the store names one: organisation-bound security groups need it. */
  readonly orgId?: string;
  /** `staging` for staging containers, `running` for app and task ones: picks its security groups. */
  readonly lifecycle: Lifecycle;
}

export type ConntrackState = 'RELATED' | 'ESTABLISHED';
export type RejectWith = 'tcp-reset' | 'icmp-port-unreachable';

/** Conditions of one rule; every field is optional and all present fields must hold. */
export interface Match {
  readonly protocol?: PacketProtocol;
  /** Source CIDR (a.b.c.d/n). */
  readonly source?: string;
  /** Destination CIDR (a.b.c.d/n). */
  readonly destination?: string;
  /** Inclusive destination range that is not a single CIDR block. */
  readonly destinationRange?: { readonly start: string; readonly end: string };
  /** Name of an owned ipset (hash:net) holding destinations. */
  readonly destinationSet?: string;
  /**
   * Name of an owned hash:net,port set of `<block>,<protocol>:<port>` entries: the packet's destination,
   * protocol and destination port must be one of them (`--match-set NAME dst,dst`).
   */
  readonly destinationPortSet?: string;
  /** Destination port range (tcp/udp only). */
  readonly ports?: PortRange;
  /** ICMP type (0-255) and code (0-255, or -1 for any code). Absent means any type. */
  readonly icmp?: { readonly type: number; readonly code: number };
  readonly conntrack?: readonly ConntrackState[];
  /** `-m limit`: at most this rate, burst 1, one bucket for this rule alone. */
  readonly limit?: LogRate;
  /**
   * `-m hashlimit` by source address: at most this rate per source, burst 1, one bucket per address
   * shared by every rule with this rate (the kernel's table is named by it: limitTableName).
   */
  readonly limitPerSource?: LogRate;
  /** A second comment, for the record rule (applied-record.ts); never input text. */
  readonly note?: string;
}

export type Action =
  /** No target: the rule decides nothing (the record rule only carries its comment). */
  | { readonly kind: 'none' }
  | { readonly kind: 'accept' }
  | { readonly kind: 'return' }
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'reject'; readonly with: RejectWith }
  /** Hand the packet to a log daemon listening on NFLOG `group`, and go on with the next rule. */
  | { readonly kind: 'nflog'; readonly group: number; readonly prefix: string };

export interface Rule {
  readonly match: Match;
  readonly action: Action;
}

export interface Chain {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/**
 * An owned ipset. Names are content-addressed, so a set's members never change under its name.
 * `hash:net`: destination CIDR blocks in address order, unique. `hash:net,port`: one source's
 * single-port services, `<block>,<protocol>:<port>` (allow-rules.ts). `list:set`: names of owned
 * hash:net sets (a destination several sources use is defined once and listed by each of them).
 */
export interface IpSet {
  readonly name: string;
  readonly type: 'hash:net' | 'hash:net,port' | 'list:set';
  readonly members: readonly string[];
  /**
   * hash:net and hash:net,port only: blocks inside members that do not match (ipset's `nomatch`
   * entries). The most specific entry holding an address (of that protocol and port) decides
   * (nested-blocks.ts); absent or empty when there is none.
   */
  readonly nomatch?: readonly string[];
}

/** How many entries a set holds in the kernel (what `ipset list -t` counts): nomatch ones too. */
export function entryCount(set: IpSet): number {
  return set.members.length + (set.nomatch?.length ?? 0);
}

/**
 * A set the plan does not fill: the cell keeps it at the current addresses of one destination's
 * exact host names (agent/names/). The plan only matches it, one rule per service, and lists it in
 * `hostSets` so the agent can create it before the rules use it; it is never in `sets`.
 */
export interface HostSet {
  /** hostSetName(destinationId, hosts). */
  readonly name: string;
  readonly destinationId: string;
  /** Exact names (never a `*.` wildcard: those cannot be resolved). */
  readonly hosts: readonly string[];
}

/** Everything the agent wants in the kernel. The root chain comes first. */
export interface RulePlan {
  readonly chains: readonly Chain[];
  readonly sets: readonly IpSet[];
  /**
   * The host sets (allow-rules.ts: HostSet) the rules match, by name; absent when none. Not the
   * plan's to fill: the agent creates them empty before the rules use them and the names refresh
   * keeps their members (agent/names/).
   */
  readonly hostSets?: readonly HostSet[];
}
