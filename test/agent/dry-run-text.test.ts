// The dry run's readable account: each chain touched named by whom it serves, the hook, the sets.
import { describe, expect, it } from 'vitest';
import { describeChanges, describeDryRun } from '../../agent/dry-run-text.js';
import type { SyncResult } from '../../agent/sync.js';
import { appChain, containerChain, spaceChain } from '../../core/plan/names.js';

const container = { ip: '10.255.1.2', appId: 'app-a', spaceId: 'space-1', lifecycle: 'running' } as const;
const stats = {
  chains: 0,
  rules: 0,
  sets: 1,
  chainsCreated: 0,
  chainsDeleted: 1,
  rulesWritten: 2,
  rulesDeleted: 4,
  setsCreated: 1,
  setsDestroyed: 2,
};
const result: SyncResult = {
  payload: '*filter\n-R x 1 y\nCOMMIT\n',
  setsBefore: ['create dyneg-n-1 hash:net family inet'],
  setsAfter: [],
  changed: true,
  hookInserted: false,
  chainChanges: [
    { chain: appChain('app-a'), action: 'edited', rulesWritten: 2, rulesDeleted: 1 },
    { chain: spaceChain('space-1'), action: 'rewritten', rulesWritten: 0, rulesDeleted: 0 },
    { chain: containerChain('10.255.1.9'), action: 'deleted', rulesWritten: 0, rulesDeleted: 3 },
  ],
  stats,
};

describe('describeChanges', () => {
  it('names apps, spaces and departed containers, only what changes', () => {
    expect(describeChanges(result, [container])).toBe(
      [
        '# would change:',
        `# edited ${appChain('app-a')}: app app-a (allow list); 2 rules written, 1 rules deleted`,
        `# rewritten ${spaceChain('space-1')}: space space-1 (allow list)`,
        `# deleted ${containerChain('10.255.1.9')}: no longer on this cell; 3 rules deleted`,
        '# ipsets: 1 created, 2 destroyed',
        '#',
        '',
      ].join('\n'),
    );
  });

  it('says nothing when nothing changes; the payload part is kept as it was', () => {
    const unchanged = { ...result, payload: undefined, setsBefore: [], changed: false, chainChanges: [] };
    expect(describeDryRun(unchanged, [container])).toBe('# no changes\n');
    expect(describeDryRun(result, [container])).toMatch(
      /#\n# ipset: create dyneg-n-1 hash:net family inet\n\*filter\n-R x 1 y\nCOMMIT\n$/,
    );
  });
});
