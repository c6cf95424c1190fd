// What an agent that stays resident between syncs keeps from one to the next (`agent serve` on a
// cell, local mode's in-process cells; a fresh process per sync has nothing to keep): the planner's
// per-source work (core/plan/plan-cache.ts), each kept chain's rendered rules, and the shards it
// decoded (source/shard-memory.ts). A sync given a memory applies what
// it would without one; it only skips work whose inputs are unchanged.
import type { Chain, Rule } from '../core/plan/model.js';
import { PlanCache } from '../core/plan/plan-cache.js';
import { type RenderedRule, renderChain } from './render.js';
import { ShardMemory } from './source/shard-memory.js';

export class SyncMemory {
  readonly plan = new PlanCache();
  /** The shards last decoded, by checksum (source/shard-memory.ts). */
  readonly shards = new ShardMemory();
  /**
   * By the rules array a kept source chain reuses from one plan to the next (plans never change an
   * array once made); a rule's id covers its chain's name, so the name is checked too.
   */
  private readonly rendered = new WeakMap<
    readonly Rule[],
    { readonly chain: string; readonly rules: RenderedRule[] }
  >();

  /** renderChain, from memory when this very rules array was rendered for this chain before. */
  readonly render = (chain: Chain): RenderedRule[] => {
    const kept = this.rendered.get(chain.rules);
    if (kept !== undefined && kept.chain === chain.name) return kept.rules;
    const rules = renderChain(chain);
    this.rendered.set(chain.rules, { chain: chain.name, rules });
    return rules;
  };
}
