// The iptables side of the proxy: a container's new TCP connections to the ports of its layer-7
// destinations are redirected (nat PREROUTING → REDIRECT) to the proxy's http or https listener on
// the cell. One owned nat chain, `dyneg-PROXY`, jumped to from PREROUTING; its rules are tagged like
// the filter table's (`dyneg:<16 hex>`, agent/render.ts), so the table machinery can own it later.
//
// Why REDIRECT and not TPROXY: the proxy makes its own connection to the address it resolved, so it
// needs the original destination only for the port (SO_ORIGINAL_DST, which HAProxy reads for
// REDIRECTed connections); REDIRECT needs no policy routing, no socket marks and no transparent bind,
// and works in any namespace with the nat table. TPROXY would keep the original address visible to
// the proxy, which it deliberately does not use.
//
// Fail-closed: a redirected connection is delivered locally (INPUT), so if the proxy is down it meets a
// closed port and is refused (RST); it never continues to the destination. A container's traffic that
// is not redirected (no L7 rule, or this chain missing) goes through FORWARD as before, where only the
// agent's filter rules decide: those must never open an L7 destination by address.

import { ValidationError } from '../../core/domain/errors.js';
import { normalizeCidr } from '../../core/plan/cidr.js';
import { COMMENT_PREFIX, isHostSet } from '../../core/plan/names.js';
import { ApplyError, firstLine } from '../errors.js';
import { ruleId } from '../render.js';
import type { CommandRunner } from '../runner.js';
import { type L7Protocol, type L7Rule, parseL7Rules } from './l7-rule.js';
import { type ProxySettings, resolveProxySettings } from './settings.js';

export const PROXY_CHAIN = 'dyneg-PROXY';
export const PROXY_HOOK_CHAIN = 'PREROUTING';
/** The comment of PREROUTING's jump into PROXY_CHAIN (no quotes needed: no space in it). */
export const PROXY_HOOK_COMMENT = `${COMMENT_PREFIX}proxy-hook`;
const HOOK_RULE = `-m comment --comment "${PROXY_HOOK_COMMENT}" -j ${PROXY_CHAIN}`;

interface PortSpan {
  readonly start: number;
  readonly end: number;
}

/**
 * One redirect: TCP from `source` to a port in `ports` goes to the proxy's `toPort`, except to the
 * `exempt` CIDRs on their ports, which the container's filter rules allow by address: those
 * connections go on to FORWARD, as they would without the proxy.
 */
export interface Redirect {
  readonly source: string;
  readonly protocol: L7Protocol;
  readonly ports: PortSpan;
  readonly toPort: number;
  readonly exempt?: readonly Exemption[];
}

/** Connections to a CIDR, or to the members of a host set, on these ports: not redirected. */
export type Exemption =
  | { readonly cidr: string; readonly hostSet?: undefined; readonly ports: PortSpan }
  | { readonly hostSet: string; readonly cidr?: undefined; readonly ports: PortSpan };

/**
 * Tcp a container's filter rules allow by address (core/plan/layer7.ts): CIDRs and host sets (its
 * tcp destinations by exact name) on ports (none: any).
 */
export interface AddressAllowance {
  readonly cidrs: readonly string[];
  readonly hostSets?: readonly string[];
  readonly ports?: readonly PortSpan[];
}

const ipOrder = (ip: string): number => ip.split('.').reduce((total, octet) => total * 256 + Number(octet), 0);

/**
 * The redirects for `rules`: per container and protocol its ports, overlapping ranges merged, sorted;
 * each with the container's `allowances` that overlap its ports as exemptions. Every CIDR is checked
 * (it becomes an iptables argument).
 */
export function planInterception(
  input: readonly L7Rule[],
  settingsInput: ProxySettings,
  allowances: ReadonlyMap<string, readonly AddressAllowance[]> = new Map(),
): Redirect[] {
  const rules = parseL7Rules(input);
  const settings = resolveProxySettings(settingsInput);
  const ranges = new Map<string, { source: string; protocol: L7Protocol; ports: { start: number; end: number }[] }>();
  for (const rule of rules) {
    for (const source of rule.sources) {
      const key = `${source} ${rule.protocol}`;
      const entry = ranges.get(key) ?? { source, protocol: rule.protocol, ports: [] };
      entry.ports.push(...rule.ports.map(({ start, end }) => ({ start, end })));
      ranges.set(key, entry);
    }
  }
  const redirects: Redirect[] = [];
  const entries = [...ranges.values()].sort(
    (a, b) => ipOrder(a.source) - ipOrder(b.source) || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0),
  );
  for (const { source, protocol, ports } of entries) {
    const toPort = protocol === 'http' ? settings.httpPort : settings.httpsPort;
    for (const merged of mergeRanges(ports)) {
      const exempt = [
        ...settings.notIntercepted.map((cidr): Exemption => ({ cidr: checkedCidr(cidr), ports: merged })),
        ...exemptionsOf(allowances.get(source) ?? [], merged),
      ];
      redirects.push({ source, protocol, ports: merged, toPort, ...(exempt.length === 0 ? {} : { exempt }) });
    }
  }
  return redirects;
}

/** The parts of `allowances` on `span`'s ports, one per CIDR or host set and overlapping port range, each once. */
function exemptionsOf(allowances: readonly AddressAllowance[], span: PortSpan): Exemption[] {
  const found = new Map<string, Exemption>();
  for (const allowance of allowances) {
    const overlaps = (allowance.ports ?? [{ start: 1, end: 65535 }]).flatMap(({ start, end }) => {
      const from = Math.max(start, span.start);
      const to = Math.min(end, span.end);
      return from <= to ? [{ start: from, end: to }] : [];
    });
    for (const cidr of allowance.cidrs) {
      const checked = checkedCidr(cidr);
      for (const ports of overlaps) found.set(`${checked} ${ports.start}:${ports.end}`, { cidr: checked, ports });
    }
    for (const hostSet of allowance.hostSets ?? []) {
      // A set name becomes an iptables argument: only the agent's own host-set names pass.
      if (!isHostSet(hostSet) || !/^[a-z0-9-]{1,31}$/.test(hostSet)) {
        throw new ValidationError(`proxy exemptions: not a host set name: ${JSON.stringify(hostSet)}`);
      }
      for (const ports of overlaps) found.set(`set ${hostSet} ${ports.start}:${ports.end}`, { hostSet, ports });
    }
  }
  return [...found.values()];
}

function checkedCidr(cidr: string): string {
  try {
    return normalizeCidr(cidr);
  } catch {
    throw new ValidationError(`proxy exemptions: must be an IPv4 CIDR block, got ${JSON.stringify(cidr)}`);
  }
}

function mergeRanges(ranges: { start: number; end: number }[]): { start: number; end: number }[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.start <= last.end + 1) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

/** The match and target of one redirect, in iptables syntax. */
export function redirectSpec(redirect: Redirect): string {
  return `-s ${redirect.source}/32 -p tcp -m tcp --dport ${dport(redirect.ports)} -j REDIRECT --to-ports ${redirect.toPort}`;
}

const dport = ({ start, end }: PortSpan): string => (start === end ? `${start}` : `${start}:${end}`);

/** The match of one exemption: it returns to PREROUTING before the redirect it belongs to. */
export function exemptionSpec(source: string, exemption: Exemption): string {
  const to = exemption.hostSet === undefined ? `-d ${exemption.cidr}` : `-m set --match-set ${exemption.hostSet} dst`;
  return `-s ${source}/32 ${to} -p tcp -m tcp --dport ${dport(exemption.ports)} -j RETURN`;
}

/** The chain's rules as `-A` lines, each tagged with its id: each redirect after its exemptions. */
export function renderInterceptionChain(redirects: readonly Redirect[]): string[] {
  const line = (spec: string) =>
    `-A ${PROXY_CHAIN} -m comment --comment "${COMMENT_PREFIX}${ruleId(PROXY_CHAIN, spec)}" ${spec}`;
  return redirects.flatMap((redirect) => [
    ...(redirect.exempt ?? []).map((exemption) => line(exemptionSpec(redirect.source, exemption))),
    line(redirectSpec(redirect)),
  ]);
}

/**
 * One `iptables-restore --noflush` payload that makes the chain exactly `redirects` (declaring an
 * existing chain under --noflush flushes it, in the same transaction) and adds the PREROUTING jump
 * when `hooked` is false.
 */
export function interceptionPayload(redirects: readonly Redirect[], hooked: boolean): string {
  return [
    '*nat',
    `:${PROXY_CHAIN} - [0:0]`,
    ...renderInterceptionChain(redirects),
    ...(hooked ? [] : [`-I ${PROXY_HOOK_CHAIN} 1 ${HOOK_RULE}`]),
    'COMMIT',
    '',
  ].join('\n');
}

/** What of ours the nat table holds: the chain, and how many jumps into it (two proxy steps at once may add two). */
export interface InterceptionState {
  readonly chain: boolean;
  readonly hooked: boolean;
  /** Every PREROUTING rule jumping into the chain, as saved: each is deleted by its own text. */
  readonly hookRules: readonly string[];
}

/** What `iptables-save -t nat` shows of ours. */
export function readInterceptionState(save: string): InterceptionState {
  let inNat = false;
  let chain = false;
  const hookRules: string[] = [];
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) inNat = line === '*nat';
    else if (inNat && line.startsWith(`:${PROXY_CHAIN} `)) chain = true;
    else if (inNat && line.startsWith(`-A ${PROXY_HOOK_CHAIN} `) && line.endsWith(` -j ${PROXY_CHAIN}`)) {
      hookRules.push(line);
    }
  }
  return { chain, hooked: hookRules.length > 0, hookRules };
}

async function readNat(runner: CommandRunner): Promise<InterceptionState> {
  const save = await runner('iptables-save', ['-t', 'nat']);
  if (save.code !== 0) {
    throw new ApplyError(`cannot read the nat table: ${firstLine(save.stderr)}`, 'iptables-save', save.stderr);
  }
  return readInterceptionState(save.stdout);
}

async function restore(runner: CommandRunner, payload: string): Promise<void> {
  const result = await runner('iptables-restore', ['-w', '--noflush'], payload);
  if (result.code !== 0) {
    throw new ApplyError(
      `iptables-restore failed (exit ${result.code}), nat rules unchanged: ${firstLine(result.stderr)}`,
      'iptables-restore',
      result.stderr,
    );
  }
}

/** Programs the redirects in one transaction (run inside the cell's namespace by the runner). */
export async function applyInterception(runner: CommandRunner, redirects: readonly Redirect[]): Promise<void> {
  const { hooked } = await readNat(runner);
  await restore(runner, interceptionPayload(redirects, hooked));
}

/**
 * The nat payload removing every hook and the chain, or undefined when neither is there (the chain
 * cannot go while a jump into it is left).
 */
export function removalPayload({
  chain,
  hookRules,
}: Pick<InterceptionState, 'chain' | 'hookRules'>): string | undefined {
  if (!chain && hookRules.length === 0) return undefined;
  const lines = ['*nat'];
  if (chain) lines.push(`:${PROXY_CHAIN} - [0:0]`);
  for (const rule of hookRules) lines.push(rule.replace(/^-A /, '-D '));
  if (chain) lines.push(`-X ${PROXY_CHAIN}`);
  return [...lines, 'COMMIT', ''].join('\n');
}

/** What of ours the nat table holds (one `iptables-save -t nat`). */
export const readInterception = readNat;

/** Removes the hook and the chain (nothing to do when neither is there). */
export async function removeInterception(runner: CommandRunner): Promise<void> {
  const payload = removalPayload(await readNat(runner));
  if (payload !== undefined) await restore(runner, payload);
}

/** Applies a removalPayload. */
export const restoreNat = restore;
