// The filter table as a resident agent's change sync needs it, without reading it. A full read
// lists every rule of the table (about 50 ms at 250 × 100, the longest step of such a sync once its
// plan is kept); but while the kernel's record names the input of this agent's last apply, the
// chains are those that apply left (SyncMemory.applied), as far as a cheap check can tell, the same
// trust a no-change sync gives the record. So the chains are taken from memory, and the diff
// rewrites each chain it touches whole (those whose rules changed and those no longer wanted) after
// an `-F`: whatever the kernel holds in them is replaced, and one that is gone fails the transaction,
// which is then made again on a whole read (recorded-sync.ts). Reading each touched chain first cost
// a process of 6-16 ms after the plan. The root chain and FORWARD come from the record check's own
// reads. The chains left alone are the remembered ones; a `--verify full` sync reads everything and
// repairs what changed behind the record.
import type { Chain } from '../core/plan/model.js';
import { ROOT_CHAIN } from '../core/plan/names.js';
import type { KernelSummary } from './applied-record.js';
import type { RenderedRule } from './render.js';
import type { AppliedChains } from './sync-memory.js';
import type { KernelTable } from './table.js';

/**
 * Chains, and rules in them, rewritten from memory at most; a change touching more reads the whole
 * table and edits it in place, which writes less. A rewritten chain costs the transaction about what
 * an edit does up to a few hundred rules (12 against 16 ms for 10 rules, 20 ms for 250).
 */
export const MOST_CHAINS_REWRITTEN = 16;
export const MOST_RULES_REWRITTEN = 1000;

const sameIds = (kept: readonly string[], rendered: readonly RenderedRule[]): boolean =>
  kept.length === rendered.length && kept.every((id, index) => rendered[index]?.id === id);

/**
 * The table as the diff needs it, from the remembered chains; undefined when it cannot be had that
 * way (more than MOST_CHAINS_REWRITTEN chains that `desired` changes or drops, more than
 * MOST_RULES_REWRITTEN rules in the changed ones, or no root chain in the reads): read it whole
 * then. `summary` must be the record check's reads, with the record naming `applied.input`.
 */
export function rememberedTable(
  applied: AppliedChains,
  summary: KernelSummary,
  desired: readonly Chain[],
  render: (chain: Chain) => readonly RenderedRule[],
): KernelTable | undefined {
  if (summary.rootChain === undefined) return undefined;
  const wanted = new Set(desired.map((chain) => chain.name));
  let touched = 0;
  let rules = 0;
  for (const chain of desired) {
    const kept = applied.chains.get(chain.name);
    if (chain.name === ROOT_CHAIN || kept === undefined) continue;
    const rendered = render(chain);
    if (sameIds(kept, rendered)) continue;
    touched += 1;
    rules += rendered.length;
  }
  // A chain no longer wanted is flushed and deleted: nothing written.
  for (const name of applied.chains.keys()) if (name !== ROOT_CHAIN && !wanted.has(name)) touched += 1;
  if (touched > MOST_CHAINS_REWRITTEN || rules > MOST_RULES_REWRITTEN) return undefined;
  const chains = new Map<string, readonly (string | null)[]>(applied.chains);
  chains.set(ROOT_CHAIN, summary.rootChain);
  return {
    chains,
    hooked: summary.hooked,
    hookRules: summary.hookRules,
    forwardRules: summary.forwardRules,
    remembered: new Set([...applied.chains.keys()].filter((name) => name !== ROOT_CHAIN)),
  };
}
