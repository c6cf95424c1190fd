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

import { COMMENT_PREFIX } from '../../core/plan/names.js';
import { ApplyError, firstLine } from '../errors.js';
import { ruleId } from '../render.js';
import type { CommandRunner } from '../runner.js';
import { type L7Protocol, type L7Rule, parseL7Rules } from './l7-rule.js';
import { type ProxySettings, resolveProxySettings } from './settings.js';

export const PROXY_CHAIN = 'dyneg-PROXY';
export const PROXY_HOOK_CHAIN = 'PREROUTING';
const HOOK_RULE = `-m comment --comment "${COMMENT_PREFIX}proxy-hook" -j ${PROXY_CHAIN}`;

/** One redirect: TCP from `source` to a port in `ports` goes to the proxy's `toPort`. */
export interface Redirect {
  readonly source: string;
  readonly protocol: L7Protocol;
  readonly ports: { readonly start: number; readonly end: number };
  readonly toPort: number;
}

const ipOrder = (ip: string): number => ip.split('.').reduce((total, octet) => total * 256 + Number(octet), 0);

/** The redirects for `rules`: per container and protocol its ports, overlapping ranges merged, sorted. */
export function planInterception(input: readonly L7Rule[], settingsInput: ProxySettings): Redirect[] {
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
    for (const merged of mergeRanges(ports)) redirects.push({ source, protocol, ports: merged, toPort });
  }
  return redirects;
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
  const { start, end } = redirect.ports;
  const dport = start === end ? `${start}` : `${start}:${end}`;
  return `-s ${redirect.source}/32 -p tcp -m tcp --dport ${dport} -j REDIRECT --to-ports ${redirect.toPort}`;
}

/** The chain's rules as `-A` lines, each tagged with its id. */
export function renderInterceptionChain(redirects: readonly Redirect[]): string[] {
  return redirects.map((redirect) => {
    const spec = redirectSpec(redirect);
    return `-A ${PROXY_CHAIN} -m comment --comment "${COMMENT_PREFIX}${ruleId(PROXY_CHAIN, spec)}" ${spec}`;
  });
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

/** What `iptables-save -t nat` shows of ours. */
export function readInterceptionState(save: string): { chain: boolean; hooked: boolean } {
  let inNat = false;
  let chain = false;
  let hooked = false;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) inNat = line === '*nat';
    else if (inNat && line.startsWith(`:${PROXY_CHAIN} `)) chain = true;
    else if (inNat && line.startsWith(`-A ${PROXY_HOOK_CHAIN} `) && line.endsWith(` -j ${PROXY_CHAIN}`)) hooked = true;
  }
  return { chain, hooked };
}

async function readNat(runner: CommandRunner): Promise<{ chain: boolean; hooked: boolean }> {
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

/** Removes the hook and the chain (nothing to do when neither is there). */
export async function removeInterception(runner: CommandRunner): Promise<void> {
  const { chain, hooked } = await readNat(runner);
  if (!chain && !hooked) return;
  const lines = ['*nat'];
  if (chain) lines.push(`:${PROXY_CHAIN} - [0:0]`);
  if (hooked) lines.push(`-D ${PROXY_HOOK_CHAIN} ${HOOK_RULE}`);
  if (chain) lines.push(`-X ${PROXY_CHAIN}`);
  await restore(runner, [...lines, 'COMMIT', ''].join('\n'));
}
