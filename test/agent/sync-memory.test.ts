import { describe, expect, it } from 'vitest';
import { renderChain } from '../../agent/render.js';
import { SyncMemory } from '../../agent/sync-memory.js';
import type { Rule } from '../../core/plan/model.js';

const rules: Rule[] = [
  {
    match: { protocol: 'tcp', destination: '198.51.100.10/32', ports: { start: 443, end: 443 } },
    action: { kind: 'accept' },
  },
  { match: {}, action: { kind: 'reject', with: 'icmp-port-unreachable' } },
];

describe('SyncMemory.render', () => {
  it('renders as renderChain does, and a rules array rendered before from memory', () => {
    const memory = new SyncMemory();
    const first = memory.render({ name: 'dyneg-a-1', rules });
    expect(first).toEqual(renderChain({ name: 'dyneg-a-1', rules }));
    expect(memory.render({ name: 'dyneg-a-1', rules })).toBe(first);
    // Another array with the same rules is rendered again (only the very array a plan kept is reused).
    const copy = memory.render({ name: 'dyneg-a-1', rules: [...rules] });
    expect(copy).not.toBe(first);
    expect(copy).toEqual(first);
  });

  it('renders the same rules again under another chain name: a rule id covers its chain', () => {
    const memory = new SyncMemory();
    const first = memory.render({ name: 'dyneg-a-1', rules });
    const other = memory.render({ name: 'dyneg-a-2', rules });
    expect(other).toEqual(renderChain({ name: 'dyneg-a-2', rules }));
    expect(other.map((rule) => rule.id)).not.toEqual(first.map((rule) => rule.id));
  });
});
