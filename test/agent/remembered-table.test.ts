// The table a resident agent's change sync diffs against (remembered-table.ts), without a kernel: the
// remembered chains, the root chain and FORWARD from the record check's reads, and no table at all
// when the change touches too many chains or rules for rewriting them whole.
import { describe, expect, it } from 'vitest';
import type { KernelSummary } from '../../agent/applied-record.js';
import { MOST_CHAINS_REWRITTEN, MOST_RULES_REWRITTEN, rememberedTable } from '../../agent/remembered-table.js';
import { renderChain } from '../../agent/render.js';
import type { AppliedChains } from '../../agent/sync-memory.js';
import type { Chain } from '../../core/plan/model.js';
import { ROOT_CHAIN } from '../../core/plan/names.js';

const rule = (n: number) =>
  ({ match: { destination: `1.1.${Math.floor(n / 250)}.${n % 250}/32` }, action: { kind: 'accept' } }) as const;
const chainOf = (name: string, count: number, from = 0): Chain => ({
  name,
  rules: Array.from({ length: count }, (_, index) => rule(from + index)),
});
const idsOf = (chain: Chain) => renderChain(chain).map((rendered) => rendered.id);

const summary: KernelSummary = {
  hooked: true,
  hookRules: ['-A FORWARD -m comment --comment "dyneg:hook" -j dyneg-FORWARD'],
  forwardRules: ['-A FORWARD -m comment --comment "dyneg:hook" -j dyneg-FORWARD'],
  rootChain: ['read-1', 'read-2'],
  record: undefined,
  rootRuleIds: ['read-2'],
  setSizes: new Map(),
  hostSets: [],
};

/** What the last apply left: the root chain and `chains`. */
const appliedOf = (chains: readonly Chain[]): AppliedChains => ({
  input: 'input-1',
  chains: new Map([[ROOT_CHAIN, ['kept-root']], ...chains.map((chain) => [chain.name, idsOf(chain)] as const)]),
});

describe('rememberedTable', () => {
  it('gives the remembered chains, marked as such, with the root chain and FORWARD from the reads', () => {
    const a = chainOf('dyneg-a-1', 3);
    const b = chainOf('dyneg-a-2', 3, 10);
    const table = rememberedTable(
      appliedOf([a, b]),
      summary,
      [chainOf(ROOT_CHAIN, 1), chainOf('dyneg-a-1', 3, 20), b],
      renderChain,
    );
    expect(table?.chains.get(ROOT_CHAIN)).toEqual(['read-1', 'read-2']);
    expect(table?.chains.get('dyneg-a-1')).toEqual(idsOf(a));
    expect([...(table?.remembered ?? [])].sort()).toEqual(['dyneg-a-1', 'dyneg-a-2']);
    expect(table).toMatchObject({ hooked: true, hookRules: summary.hookRules, forwardRules: summary.forwardRules });
  });

  it('gives none without the root chain read', () => {
    expect(rememberedTable(appliedOf([]), { ...summary, rootChain: undefined }, [], renderChain)).toBeUndefined();
  });

  it(`gives none when more than ${MOST_CHAINS_REWRITTEN} chains change or go`, () => {
    const kept = Array.from({ length: MOST_CHAINS_REWRITTEN + 1 }, (_, index) => chainOf(`dyneg-a-${index}`, 1, index));
    const changed = (count: number) =>
      kept.map((chain, index) => (index < count ? chainOf(chain.name, 1, 500 + index) : chain));
    expect(rememberedTable(appliedOf(kept), summary, changed(MOST_CHAINS_REWRITTEN), renderChain)).toBeDefined();
    expect(rememberedTable(appliedOf(kept), summary, changed(MOST_CHAINS_REWRITTEN + 1), renderChain)).toBeUndefined();
    // Gone counts as touched.
    expect(
      rememberedTable(appliedOf(kept), summary, changed(MOST_CHAINS_REWRITTEN).slice(0, -1), renderChain),
    ).toBeUndefined();
  });

  it(`gives none when the chains that change hold more than ${MOST_RULES_REWRITTEN} rules`, () => {
    const big = chainOf('dyneg-a-big', MOST_RULES_REWRITTEN);
    const changedBig = (count: number) => ({
      ...chainOf('dyneg-a-big', count),
      rules: [rule(9_999), ...chainOf('x', count - 1).rules],
    });
    expect(rememberedTable(appliedOf([big]), summary, [changedBig(MOST_RULES_REWRITTEN)], renderChain)).toBeDefined();
    expect(
      rememberedTable(appliedOf([big]), summary, [changedBig(MOST_RULES_REWRITTEN + 1)], renderChain),
    ).toBeUndefined();
    // An unchanged big chain costs nothing.
    expect(rememberedTable(appliedOf([big]), summary, [big], renderChain)).toBeDefined();
  });
});
