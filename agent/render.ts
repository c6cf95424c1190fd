// Chains → iptables-restore text. Pure. Every rule is tagged with a comment holding a short hash of
// its chain and text, so `table` can recognise its own rules on readback without parsing them.
import { limitTableName, renderRate } from '../core/plan/deny-log.js';
import type { Action, Chain, IpSet, Match, Rule } from '../core/plan/model.js';
import { COMMENT_PREFIX, shortHash } from '../core/plan/names.js';

/** The match and target arguments of one rule, in the order iptables-save prints them. */
export function renderRuleSpec(rule: Rule): string {
  return [...renderMatch(rule.match), ...renderAction(rule.action)].join(' ');
}

function renderMatch(match: Match): string[] {
  const parts: string[] = [];
  if (match.note !== undefined) parts.push('-m', 'comment', '--comment', `"${match.note}"`);
  if (match.source !== undefined) parts.push('-s', match.source);
  if (match.destination !== undefined) parts.push('-d', match.destination);
  if (match.protocol !== undefined) parts.push('-p', match.protocol);
  if (match.ports !== undefined) {
    const { start, end } = match.ports;
    parts.push('-m', match.protocol ?? 'tcp', '--dport', start === end ? `${start}` : `${start}:${end}`);
  }
  if (match.icmp !== undefined) {
    const { type, code } = match.icmp;
    parts.push('-m', 'icmp', '--icmp-type', code < 0 ? `${type}` : `${type}/${code}`);
  }
  if (match.destinationRange !== undefined) {
    parts.push('-m', 'iprange', '--dst-range', `${match.destinationRange.start}-${match.destinationRange.end}`);
  }
  if (match.destinationSet !== undefined) parts.push('-m', 'set', '--match-set', match.destinationSet, 'dst');
  if (match.destinationPortSet !== undefined) {
    parts.push('-m', 'set', '--match-set', match.destinationPortSet, 'dst,dst');
  }
  if (match.conntrack !== undefined) parts.push('-m', 'conntrack', '--ctstate', match.conntrack.join(','));
  if (match.limit !== undefined) parts.push('-m', 'limit', '--limit', renderRate(match.limit), '--limit-burst', '1');
  if (match.limitPerSource !== undefined) {
    const rate = match.limitPerSource;
    parts.push('-m', 'hashlimit', '--hashlimit-upto', renderRate(rate), '--hashlimit-burst', '1');
    parts.push('--hashlimit-mode', 'srcip', '--hashlimit-name', limitTableName(rate));
  }
  return parts;
}

function renderAction(action: Action): string[] {
  switch (action.kind) {
    case 'none':
      return [];
    case 'accept':
      return ['-j', 'ACCEPT'];
    case 'return':
      return ['-j', 'RETURN'];
    case 'jump':
      return ['-j', action.chain];
    case 'reject':
      return ['-j', 'REJECT', '--reject-with', action.with];
    case 'nflog':
      // iptables-save prints the prefix before the group; the prefix is a constant of the agent.
      return ['-j', 'NFLOG', '--nflog-prefix', action.prefix, '--nflog-group', `${action.group}`];
  }
}

/** A rule's identity: hash of its chain and its text. A changed rule gets a new id. */
export function ruleId(chain: string, spec: string): string {
  return shortHash(`${chain}\u0000${spec}`);
}

export interface RenderedRule {
  readonly id: string;
  /** Everything after `-A <chain>` (or `-R <chain> <n>`): the comment tag, then the spec. */
  readonly body: string;
}

export function renderRule(chain: string, rule: Rule): RenderedRule {
  const spec = renderRuleSpec(rule);
  const id = ruleId(chain, spec);
  return { id, body: `-m comment --comment "${COMMENT_PREFIX}${id}" ${spec}` };
}

export function renderChain(chain: Chain): RenderedRule[] {
  return chain.rules.map((rule) => renderRule(chain.name, rule));
}

/** The kernel's default capacity of a hash set; a larger set would fail with "Hash is full". */
export const DEFAULT_SET_MAXELEM = 65536;
/** ipset's default list:set size; a list:set is always created with at least this, as `ipset save` shows it. */
export const LIST_SET_MIN_SIZE = 8;

/**
 * What follows `add <name>` for each entry of `set`, as `ipset save` prints it back (a nomatch block
 * with its flag); parseIpsetSave reads the kernel's entries into the same form.
 */
export function setEntryArgs(set: IpSet): string[] {
  const entries = [...set.members];
  for (const block of set.nomatch ?? []) entries.push(`${block} ${NOMATCH}`);
  return entries;
}

/** ipset's flag for an entry that does not match (nested-blocks.ts). */
export const NOMATCH = 'nomatch';

/** `ipset restore` lines creating a set under `name` with the members of `set`. */
export function renderSetCreate(set: IpSet, name = set.name): string[] {
  const adds = setEntryArgs(set).map((entry) => `add ${name} ${entry}`);
  // Sets are content-addressed and never grow after creation, so sizing them for their members is enough.
  if (set.type === 'list:set') {
    return [`create ${name} list:set size ${Math.max(LIST_SET_MIN_SIZE, set.members.length)}`, ...adds];
  }
  const capacity = adds.length > DEFAULT_SET_MAXELEM ? ` maxelem ${adds.length}` : '';
  return [`create ${name} ${set.type} family inet${capacity}`, ...adds];
}
