// What a dry run says about the destinations of each source chain (an app's, a space's, a security-group
// binding's) that would change: which ones the change allows that the kernel does not allow now (`+`),
// and what the kernel allows now that the plan no longer does (`-`). dry-run-text.ts prints it.
//
// Both sides are compared as what they allow (protocol, ports, addresses), not rule by rule: the
// kernel's rules are read from their saved text and their sets expanded (the dry run reads every set
// member), the plan's side comes from the policies, entry by entry (allowEntriesBySource). So a
// destination added to a service held in a set is one `+` line, not a set replaced, and rules only
// regrouped (a service passing the set threshold) add and remove nothing.
// The kernel keeps addresses and hashes, never names: a `+` line is named from the policies, a `-` line
// from the policies of the cell's last apply when the caller has them (`previous`), matched by what
// they allowed; without them, or where nothing there matches, it gives only protocol, ports and addresses.
// Only a dry run pays for any of this: the sync keeps what it needs (DryRunPreview) only then.

import { numberToIpv4, parseCidr, parseIpv4 } from '../core/domain/ipv4.js';
import { ICMP_ANY } from '../core/domain/schemas.js';
import type { PoliciesWithGroups } from '../core/domain/snapshot-groups.js';
import { escapeNonPrinting } from '../core/domain/validation.js';
import type { AllowEntry } from '../core/plan/allow-rules.js';
import { mergeSpans, rangeAsCidr, type Span } from '../core/plan/cidr.js';
import type { RulePlan } from '../core/plan/model.js';
import { BY_HOST_SETS } from '../core/plan/name-enforcement.js';
import { isHostSet, isListSet, ROOT_CHAIN } from '../core/plan/names.js';
import { allowEntriesBySource } from '../core/plan/plan.js';
import { parseRootChain } from './applied-record.js';
import type { KernelSets } from './ipsets.js';
import { renderChain } from './render.js';
import { type KernelTable, savedWords } from './table.js';

/** What a dry run keeps for its readable account (sync.ts fills it, only for a dry run). */
export interface DryRunPreview {
  /** The policies planned from. */
  readonly policies: PoliciesWithGroups;
  /** The plan, the record rule included. */
  readonly plan: RulePlan;
  /** The filter table as read, the owned chains' rules as saved (KernelTable.saved). */
  readonly kernel: KernelTable;
  /** The owned sets' entries; undefined when only their sizes were read. */
  readonly kernelSets: KernelSets | undefined;
}

/** One line of a chain's account: `+ <label>: <services> to <where>`, or `-` for what goes. */
export interface DestinationChange {
  readonly sign: '+' | '-';
  /** The destination's name and id (policy text, escaped), or undefined when none is known. */
  readonly label: string | undefined;
  /** `tcp 6379`, `udp 53, 5353`, `icmp type 8`, `all protocols`, with ` (logged)` for a logged rule. */
  readonly services: string;
  /** `198.51.100.9`, `10.0.0.0/24, 10.1.0.1-10.1.0.9`, `hosts api.example.com`, … */
  readonly where: string;
}

/** A protocol and what narrows it: ports (`6379`, `8000-8080`), icmp type and code, or nothing. */
interface Service {
  readonly protocol: string;
  readonly detail: string;
  readonly logged: boolean;
}

const serviceKey = (service: Service): string =>
  `${service.protocol} ${service.detail}${service.logged ? ' logged' : ''}`;

/** Addresses each service reaches, and the sets (host sets, sets not read) it reaches by name. */
interface Grants {
  readonly spans: Map<string, { service: Service; spans: Span[] }>;
  readonly named: Map<string, { service: Service; names: Set<string> }>;
}

const newGrants = (): Grants => ({ spans: new Map(), named: new Map() });

/** Adds addresses to a service; merged once all are in (settled). */
function grantSpans(grants: Grants, service: Service, spans: readonly Span[]): void {
  const key = serviceKey(service);
  const held = grants.spans.get(key);
  if (held === undefined) grants.spans.set(key, { service, spans: [...spans] });
  else held.spans.push(...spans);
}

/** The grants with each service's addresses merged (mergeSpans), as subtractSpans takes them. */
function settled(grants: Grants): Grants {
  for (const held of grants.spans.values()) held.spans = mergeSpans(held.spans);
  return grants;
}

function grantNamed(grants: Grants, service: Service, name: string): void {
  const key = serviceKey(service);
  const held = grants.named.get(key);
  if (held === undefined) grants.named.set(key, { service, names: new Set([name]) });
  else held.names.add(name);
}

const EVERY_ADDRESS: Span = { first: 0, last: 0xffffffff };

/** The index of the first of `spans` (merged) that ends at or after `address`. */
function firstEndingFrom(spans: readonly Span[], address: number): number {
  let low = 0;
  let high = spans.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((spans[middle]?.last ?? 0) < address) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** `a` less `b`; both merged (mergeSpans). */
export function subtractSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const span of a) {
    let first = span.first;
    let next = firstEndingFrom(b, first);
    while (first <= span.last) {
      const cut = b[next];
      if (cut === undefined || cut.first > span.last) {
        out.push({ first, last: span.last });
        break;
      }
      if (cut.first > first) out.push({ first, last: cut.first - 1 });
      first = Math.max(first, cut.last + 1);
      next += 1;
    }
  }
  return out;
}

/** `a` and `b` both; both merged. */
function intersectSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  return subtractSpans(a, subtractSpans(a, b));
}

// --- The entries' side -------------------------------------------------------------------------------

function portDetail(start: number, end: number): string {
  return start === end ? `${start}` : `${start}-${end}`;
}

function icmpDetail(type: number, code: number): string {
  if (type === ICMP_ANY) return '';
  return code === ICMP_ANY ? `type ${type}` : `type ${type} code ${code}`;
}

/** The services one allow entry opens, as allow-rules.ts plans them (servicesOf). */
function entryServices(destination: AllowEntry['destination']): Service[] {
  const logged = destination.log === true;
  if (destination.protocol === 'icmp') {
    const detail = icmpDetail(destination.icmp_type ?? ICMP_ANY, destination.icmp_code ?? ICMP_ANY);
    return [{ protocol: 'icmp', detail, logged }];
  }
  if (destination.protocol === 'all') return [{ protocol: 'all', detail: '', logged }];
  const { protocol } = destination;
  return (destination.ports ?? []).map(({ start, end }) => ({ protocol, detail: portDetail(start, end), logged }));
}

function entrySpans(destination: AllowEntry['destination']): Span[] {
  if (destination.ips === undefined) return [];
  const spans: Span[] = [];
  for (const { start, end } of destination.ips) {
    const first = parseIpv4(start);
    const last = parseIpv4(end);
    if (first >= 0 && last >= first) spans.push({ first, last });
  }
  return mergeSpans(spans);
}

/** What a source's entries allow, together. */
function entryGrants(entries: readonly AllowEntry[]): Grants {
  const grants = newGrants();
  for (const { destination } of entries) {
    const spans = entrySpans(destination);
    for (const service of entryServices(destination)) {
      if (destination.hostSet !== undefined) grantNamed(grants, service, destination.hostSet.name);
      else grantSpans(grants, service, spans);
    }
  }
  return settled(grants);
}

/**
 * An entry's name as the policy document gives it: a v1 policy's destination name and id, a rule by
 * host name's destination id. A security group's rules carry no name on a cell (snapshot-groups.ts).
 */
function entryLabel(entry: AllowEntry, policies: Labels): string | undefined {
  const destination = policies.get(entry.id);
  if (destination !== undefined) {
    return `${escapeNonPrinting(destination.name)} (${escapeNonPrinting(destination.id)})`;
  }
  const hostSet = entry.destination.hostSet;
  return hostSet === undefined ? undefined : `destination ${escapeNonPrinting(hostSet.destinationId)}`;
}

/** A v1 policy's destination name and id, by policy id (allow entries carry the policy's id). */
type Labels = ReadonlyMap<string, { readonly name: string; readonly id: string }>;

/** The entries of every source and the names of the v1 ones, worked out once per document. */
export class SourceEntries {
  private bySource: Map<string, AllowEntry[]> | undefined;
  private labelsBySource: Map<string, Map<string, { name: string; id: string }>> | undefined;

  constructor(private readonly policies: PoliciesWithGroups) {}

  entries(key: string): readonly AllowEntry[] {
    this.bySource ??= allowEntriesBySource(this.policies, BY_HOST_SETS);
    return this.bySource.get(key) ?? [];
  }

  labels(key: string): Labels {
    if (this.labelsBySource === undefined) {
      this.labelsBySource = new Map();
      for (const policy of this.policies.egress_policies) {
        const source = `${policy.source.type}:${policy.source.id}`;
        const labels = this.labelsBySource.get(source) ?? new Map<string, { name: string; id: string }>();
        labels.set(policy.id, { name: policy.destination.name, id: policy.destination.id });
        this.labelsBySource.set(source, labels);
      }
    }
    return this.labelsBySource.get(key) ?? new Map();
  }
}

// --- The kernel's side -------------------------------------------------------------------------------

/** What one saved rule matches, as far as the agent's own rules go; undefined for anything else. */
interface SavedRule {
  readonly target: string;
  /** Everything but the comment and the target, to pair an NFLOG rule with its ACCEPT. */
  readonly matchKey: string;
  readonly protocol: string | undefined;
  readonly ports: string | undefined;
  readonly icmp: string | undefined;
  readonly destination: Span | undefined;
  readonly set: { readonly name: string; readonly withPort: boolean } | undefined;
}

/** Options whose value the account does not need; skipped with it. */
const SKIPPED_WITH_VALUE = new Set([
  '-m',
  '-s',
  '--comment',
  '--nflog-prefix',
  '--nflog-group',
  '--reject-with',
  '--ctstate',
  '--limit',
  '--limit-burst',
]);

function cidrSpan(text: string): Span | undefined {
  try {
    const { start, end } = parseCidr(text.includes('/') ? text : `${text}/32`);
    return { first: start, last: end };
  } catch {
    return undefined;
  }
}

function rangeSpan(text: string): Span | undefined {
  const [start = '', end = ''] = text.split('-');
  const first = parseIpv4(start);
  const last = parseIpv4(end);
  return first >= 0 && last >= first ? { first, last } : undefined;
}

/** A saved `-A <chain> …` line as a SavedRule; undefined for what the agent never writes (a `!`, say). */
export function parseSavedRule(line: string): SavedRule | undefined {
  const words = savedWords(line).slice(2);
  let target = '';
  let protocol: string | undefined;
  let ports: string | undefined;
  let icmp: string | undefined;
  let destination: Span | undefined;
  let set: SavedRule['set'];
  const matchWords: string[] = [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]?.text ?? '';
    const value = words[index + 1]?.text ?? '';
    if (word === '!') return undefined;
    if (word === '-j') {
      target = value;
      break;
    }
    index += 1;
    if (word === '--comment' || (word === '-m' && value === 'comment')) continue;
    matchWords.push(word, value);
    if (word === '-p') protocol = value;
    else if (word === '--dport') ports = value.replace(':', '-');
    else if (word === '--icmp-type') icmp = value;
    else if (word === '-d') destination = cidrSpan(value);
    else if (word === '--dst-range') destination = rangeSpan(value);
    else if (word === '--match-set') {
      const directions = words[index + 1]?.text ?? '';
      matchWords.push(directions);
      index += 1;
      set = { name: value, withPort: directions === 'dst,dst' };
    } else if (!SKIPPED_WITH_VALUE.has(word)) return undefined;
  }
  return { target, matchKey: matchWords.join(' '), protocol, ports, icmp, destination, set };
}

function savedService(rule: SavedRule, logged: boolean): Service {
  const protocol = rule.protocol ?? 'all';
  if (protocol === 'icmp') {
    const [type, code] = (rule.icmp ?? '').split('/');
    const detail =
      type === undefined || type === '' ? '' : code === undefined ? `type ${type}` : `type ${type} code ${code}`;
    return { protocol, detail, logged };
  }
  return { protocol, detail: rule.ports ?? '', logged };
}

/**
 * The addresses of hash:net entries (`<block>` or `<block> nomatch`): the most specific entry holding
 * an address decides (nested-blocks.ts). Blocks are nested or apart, so one sweep in address order,
 * wider blocks first, with the blocks holding the current address on a stack.
 */
export function effectiveSpans(entries: readonly string[]): Span[] {
  const blocks: { first: number; last: number; match: boolean }[] = [];
  for (const entry of entries) {
    const [block = '', flag] = entry.split(' ');
    const span = cidrSpan(block);
    if (span !== undefined) blocks.push({ ...span, match: flag === undefined });
  }
  blocks.sort((a, b) => a.first - b.first || b.last - a.last);
  const out: Span[] = [];
  const open: { last: number; match: boolean }[] = [];
  let cursor = 0;
  const paintTo = (end: number): void => {
    if (open.at(-1)?.match === true && cursor < end) out.push({ first: cursor, last: end - 1 });
    cursor = Math.max(cursor, end);
  };
  const closeBefore = (first: number): void => {
    for (let top = open.at(-1); top !== undefined && top.last < first; top = open.at(-1)) {
      paintTo(top.last + 1);
      open.pop();
    }
  };
  for (const block of blocks) {
    closeBefore(block.first);
    paintTo(block.first);
    open.push(block);
  }
  closeBefore(Number.POSITIVE_INFINITY);
  return mergeSpans(out);
}

/** A kernel set's addresses (a list:set's members' together), or the names of the sets not read. */
function kernelSetSpans(
  name: string,
  sets: KernelSets | undefined,
): { readonly spans: Span[]; readonly unread: readonly string[] } {
  const entries = sets?.get(name);
  if (entries === undefined) return { spans: [], unread: [name] };
  if (!isListSet(name)) return { spans: effectiveSpans(entries), unread: [] };
  const spans: Span[] = [];
  const unread: string[] = [];
  for (const member of entries) {
    const held = sets?.get(member);
    if (held === undefined || isListSet(member)) unread.push(member);
    else spans.push(...effectiveSpans(held));
  }
  return { spans: mergeSpans(spans), unread };
}

/** A hash:net,port set's entries (`<block>,<protocol>:<port>[ nomatch]`) by service. */
function portSetGrants(grants: Grants, entries: readonly string[]): void {
  const byPort = new Map<string, string[]>();
  for (const entry of entries) {
    const [member = '', flag] = entry.split(' ');
    const [block = '', port = ''] = member.split(',');
    const list = byPort.get(port) ?? [];
    list.push(flag === undefined ? block : `${block} ${flag}`);
    byPort.set(port, list);
  }
  for (const [port, blocks] of byPort) {
    const [protocol = '', number = ''] = port.split(':');
    grantSpans(grants, { protocol, detail: number, logged: false }, effectiveSpans(blocks));
  }
}

/** What a chain's rules in the kernel accept. */
function kernelGrants(lines: readonly string[], sets: KernelSets | undefined): Grants {
  const grants = newGrants();
  let previous: SavedRule | undefined;
  for (const line of lines) {
    const rule = parseSavedRule(line);
    const before = previous;
    previous = rule;
    if (rule === undefined || rule.target !== 'ACCEPT') continue;
    // A logged service: an NFLOG rule of the same match right before its ACCEPT (allow-rules.ts).
    const logged = before !== undefined && before.target === 'NFLOG' && before.matchKey === rule.matchKey;
    const { set } = rule;
    if (set?.withPort === true) {
      const entries = sets?.get(set.name);
      if (entries === undefined) grantNamed(grants, { protocol: 'all', detail: '', logged }, set.name);
      else portSetGrants(grants, entries);
      continue;
    }
    const service = savedService(rule, logged);
    if (set === undefined) {
      grantSpans(grants, service, [rule.destination ?? EVERY_ADDRESS]);
      continue;
    }
    if (isHostSet(set.name)) {
      grantNamed(grants, service, set.name);
      continue;
    }
    const { spans, unread } = kernelSetSpans(set.name, sets);
    grantSpans(grants, service, spans);
    for (const name of unread) grantNamed(grants, service, name);
  }
  return settled(grants);
}

// --- The account -------------------------------------------------------------------------------------

/** At most this many addresses or names are written on one line, then `and N more`. */
export const MAX_LISTED_PER_LINE = 3;

function spanText({ first, last }: Span): string {
  const start = numberToIpv4(first);
  if (first === last) return start;
  const end = numberToIpv4(last);
  return rangeAsCidr(start, end) ?? `${start}-${end}`;
}

function listText(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED_PER_LINE).join(', ');
  return items.length > MAX_LISTED_PER_LINE ? `${shown} and ${items.length - MAX_LISTED_PER_LINE} more` : shown;
}

const spansText = (spans: readonly Span[]): string => listText(spans.map(spanText));

function servicesText(protocol: string, details: readonly string[], logged: boolean): string {
  const suffix = logged ? ' (logged)' : '';
  if (protocol === 'all') return `all protocols${suffix}`;
  const shown = details.filter((detail) => detail !== '');
  return `${shown.length === 0 ? protocol : `${protocol} ${shown.join(', ')}`}${suffix}`;
}

/** Lines of one chain, services of one destination gathered on one line when they reach the same addresses. */
class Account {
  private readonly lines = new Map<
    string,
    { sign: '+' | '-'; label: string | undefined; protocol: string; logged: boolean; details: string[]; where: string }
  >();

  add(sign: '+' | '-', label: string | undefined, service: Service, where: string): void {
    const key = [sign, label ?? '', service.protocol, service.logged, where].join('\u0000');
    const line = this.lines.get(key);
    if (line === undefined) {
      this.lines.set(key, {
        sign,
        label,
        protocol: service.protocol,
        logged: service.logged,
        details: [service.detail],
        where,
      });
    } else if (!line.details.includes(service.detail)) line.details.push(service.detail);
  }

  changes(): DestinationChange[] {
    return [...this.lines.values()].map(({ sign, label, protocol, logged, details, where }) => ({
      sign,
      label,
      services: servicesText(protocol, details, logged),
      where,
    }));
  }
}

const hostsText = (hosts: readonly string[]): string => `hosts ${listText(hosts.map(escapeNonPrinting))}`;

/** The previous document's entries of one source that allowed what is gone, by name. */
function namePrevious(
  account: Account,
  gone: Grants,
  previous: { readonly entries: readonly AllowEntry[]; readonly labels: Labels } | undefined,
): void {
  for (const entry of previous?.entries ?? []) {
    const { destination } = entry;
    const label = entryLabel(entry, previous?.labels ?? new Map());
    const spans = entrySpans(destination);
    for (const service of entryServices(destination)) {
      const key = serviceKey(service);
      if (destination.hostSet !== undefined) {
        if (gone.named.get(key)?.names.delete(destination.hostSet.name) === true) {
          account.add('-', label, service, hostsText(destination.hostSet.hosts));
        }
        continue;
      }
      const held = gone.spans.get(key);
      if (held === undefined) continue;
      const named = intersectSpans(held.spans, spans);
      if (named.length === 0) continue;
      account.add('-', label, service, spansText(named));
      held.spans = subtractSpans(held.spans, named);
    }
  }
}

export interface ChainSources {
  /** The source's entries now. */
  readonly now: SourceEntries;
  /** The source's entries at the cell's last apply, when the caller has them (names what goes). */
  readonly previous?: SourceEntries;
}

/**
 * What the change of one source chain (key `app:<id>`, `space:<id>` or a binding's, plan.ts
 * allowSourcesOf) does to its destinations: `+` what the plan allows and the kernel's chain does not,
 * then `-` what the kernel's chain allows and the plan does not. Undefined when the kernel's rules
 * were not kept (a table the caller gave without them): nothing to compare with.
 */
export function destinationChanges(
  chain: string,
  key: string,
  preview: DryRunPreview,
  sources: ChainSources,
): DestinationChange[] | undefined {
  const saved = preview.kernel.saved;
  if (saved === undefined) return undefined;
  const entries = sources.now.entries(key);
  const labels = sources.now.labels(key);
  const kernel = kernelGrants(saved.get(chain) ?? [], preview.kernelSets);
  const account = new Account();
  for (const entry of entries) {
    const { destination } = entry;
    const label = entryLabel(entry, labels);
    const spans = entrySpans(destination);
    for (const service of entryServices(destination)) {
      const key = serviceKey(service);
      if (destination.hostSet !== undefined) {
        if (kernel.named.get(key)?.names.has(destination.hostSet.name) !== true) {
          account.add('+', label, service, hostsText(destination.hostSet.hosts));
        }
        continue;
      }
      const added = subtractSpans(spans, kernel.spans.get(key)?.spans ?? []);
      if (added.length > 0) account.add('+', label, service, spansText(added));
    }
  }
  // What the kernel allows beyond the plan: named from the last apply's document where it matches.
  const planned = entryGrants(entries);
  const gone = newGrants();
  for (const [key, { service, spans }] of kernel.spans) {
    const left = subtractSpans(spans, planned.spans.get(key)?.spans ?? []);
    if (left.length > 0) gone.spans.set(key, { service, spans: left });
  }
  for (const [key, { service, names }] of kernel.named) {
    const kept = planned.named.get(key)?.names;
    const left = [...names].filter((name) => kept?.has(name) !== true);
    if (left.length > 0) gone.named.set(key, { service, names: new Set(left) });
  }
  if (sources.previous !== undefined) {
    const previous = { entries: sources.previous.entries(key), labels: sources.previous.labels(key) };
    namePrevious(account, gone, previous);
  }
  for (const { service, spans } of gone.spans.values()) {
    if (spans.length > 0) account.add('-', undefined, service, spansText(spans));
  }
  for (const { service, names } of gone.named.values()) {
    for (const name of names) {
      account.add('-', undefined, service, isHostSet(name) ? `the host names of set ${name}` : `set ${name}`);
    }
  }
  return account.changes();
}

/**
 * Whether the entry chain differs from the plan's only in its record rule (applied-record.ts), which
 * names new inputs on every change: then the dry run does not list the chain.
 */
export function onlyRecordChanges(preview: DryRunPreview): boolean {
  const planned = preview.plan.chains[0];
  const saved = preview.kernel.saved?.get(ROOT_CHAIN);
  if (planned === undefined || planned.name !== ROOT_CHAIN || saved === undefined) return false;
  const plannedIds = renderChain({
    name: ROOT_CHAIN,
    rules: planned.rules.filter((rule) => rule.match.note === undefined),
  }).map((rule) => rule.id);
  const kernelIds = parseRootChain(saved.join('\n')).rootRuleIds;
  return plannedIds.length === kernelIds.length && plannedIds.every((id, index) => id === kernelIds[index]);
}
