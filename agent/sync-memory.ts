// What an agent that stays resident between syncs keeps from one to the next (`agent serve` on a
// cell, local mode's in-process cells; a fresh process per sync has nothing to keep): the planner's
// per-source work (core/plan/plan-cache.ts), each kept chain's rendered rules, the chains its last
// apply left in the kernel, and the shards it decoded (source/shard-memory.ts). A sync given a
// memory applies what it would without one and only skips work whose inputs are unchanged, with one
// exception: a change sync that trusts the chains the last apply left reads none of them back and
// rewrites those it touches, so a rule changed behind the record in another chain waits for the next
// whole read (at most TRUST_REMEMBERED_MS later, or the next `--verify full`).
import type { Chain, Rule } from '../core/plan/model.js';
import { PlanCache } from '../core/plan/plan-cache.js';
import { type RenderedRule, renderChain } from './render.js';
import { ShardMemory } from './source/shard-memory.js';

/** The owned chains' rule ids after an apply, and the input digest it was for. */
export interface AppliedChains {
  readonly input: string;
  readonly chains: ReadonlyMap<string, readonly string[]>;
}

/** How long a change sync trusts the chains the last apply left, after a whole read of the table. */
export const TRUST_REMEMBERED_MS = 5 * 60_000;

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

  /**
   * The owned chains' rule ids as this agent's last apply left them, with the input that apply was
   * for (applied-record.ts): a change sync then takes the chains from here, and rewrites those it
   * touches, while the kernel's record names that input (remembered-table.ts). Forgotten as an apply
   * starts, so an apply that fails or is cut short leaves nothing to trust.
   */
  private appliedChains: AppliedChains | undefined;
  /** When the remembered chains were last checked against a whole read of the table (`now`). */
  private wholeReadAt = Number.NEGATIVE_INFINITY;

  /** `now`: a monotonic clock in ms (a wall clock stepped back would stretch the trust). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  get applied(): AppliedChains | undefined {
    return this.appliedChains;
  }

  /**
   * The remembered chains, while a change sync may trust them: the last whole read of the table was
   * less than TRUST_REMEMBERED_MS ago. After that a change sync reads the whole table again (and
   * repairs what changed behind the record in the chains it does not touch).
   */
  trustedApplied(): AppliedChains | undefined {
    return this.now() - this.wholeReadAt < TRUST_REMEMBERED_MS ? this.appliedChains : undefined;
  }

  /** Called by a sync that is about to change the kernel. */
  forgetApplied(): void {
    this.appliedChains = undefined;
  }

  /**
   * Called by a sync once the kernel holds `chains` (the plan's, record rule included) for `input`.
   * `readWhole`: its diff was made against a whole read of the table, not the remembered chains.
   */
  rememberApplied(input: string, chains: readonly Chain[], readWhole: boolean): void {
    if (readWhole) this.wholeReadAt = this.now();
    this.appliedChains = {
      input,
      chains: new Map(chains.map((chain) => [chain.name, this.render(chain).map((rule) => rule.id)])),
    };
  }

  /** renderChain, from memory when this very rules array was rendered for this chain before. */
  readonly render = (chain: Chain): RenderedRule[] => {
    const kept = this.rendered.get(chain.rules);
    if (kept !== undefined && kept.chain === chain.name) return kept.rules;
    const rules = renderChain(chain);
    this.rendered.set(chain.rules, { chain: chain.name, rules });
    return rules;
  };
}
