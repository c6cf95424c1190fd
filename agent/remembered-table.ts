// The filter table as a resident agent's change sync needs it, without `iptables-save`. A full read
// lists every rule of the table (about 50 ms at 250 × 100, the longest step of such a sync once its
// plan is kept); but while the kernel's record names the input of this agent's last apply, the
// chains are those that apply left (SyncMemory.applied), as far as a cheap check can tell, the same
// trust a no-change sync gives the record. Only the chains the diff would touch are read back, one
// `iptables -S` each: those whose rules changed and those no longer wanted. The root chain and
// FORWARD come from the record check's own reads. The chains left alone are the remembered ones; a
// `--verify full` sync reads everything and repairs what changed behind the record.
import type { Chain } from '../core/plan/model.js';
import { ROOT_CHAIN } from '../core/plan/names.js';
import type { KernelSummary } from './applied-record.js';
import type { RenderedRule } from './render.js';
import type { CommandRunner } from './runner.js';
import type { AppliedChains } from './sync-memory.js';
import { type KernelTable, parseChainRules } from './table.js';

/** Chains read one by one at most; a change touching more reads the whole table. */
export const MOST_CHAINS_READ = 16;

const sameIds = (kept: readonly string[], rendered: readonly RenderedRule[]): boolean =>
  kept.length === rendered.length && kept.every((id, index) => rendered[index]?.id === id);

/**
 * The table as the diff needs it, from the remembered chains and the reads of the ones `desired`
 * changes or drops; undefined when it cannot be had that way (more than MOST_CHAINS_READ such
 * chains, or a read failed, for instance because a remembered chain is gone): read it whole then.
 * `summary` must be the record check's reads, with the record naming `applied.input`.
 */
export async function rememberedTable(
  runner: CommandRunner,
  applied: AppliedChains,
  summary: KernelSummary,
  desired: readonly Chain[],
  render: (chain: Chain) => readonly RenderedRule[],
): Promise<KernelTable | undefined> {
  if (summary.rootChain === undefined) return undefined;
  const wanted = new Set(desired.map((chain) => chain.name));
  const touched: string[] = [];
  for (const chain of desired) {
    const kept = applied.chains.get(chain.name);
    if (chain.name !== ROOT_CHAIN && kept !== undefined && !sameIds(kept, render(chain))) touched.push(chain.name);
  }
  for (const name of applied.chains.keys()) if (name !== ROOT_CHAIN && !wanted.has(name)) touched.push(name);
  if (touched.length > MOST_CHAINS_READ) return undefined;
  const reads = await Promise.all(touched.map((name) => runner('iptables', ['-w', '-S', name])));
  if (reads.some((read) => read.code !== 0)) return undefined;
  const chains = new Map<string, readonly (string | null)[]>(applied.chains);
  chains.set(ROOT_CHAIN, summary.rootChain);
  touched.forEach((name, index) => {
    chains.set(name, parseChainRules(name, reads[index]?.stdout ?? ''));
  });
  return {
    chains,
    hooked: summary.hooked,
    hookRules: summary.hookRules,
    forwardRules: summary.forwardRules,
    remembered: true,
  };
}
