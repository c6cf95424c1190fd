import { describe, expect, it } from 'vitest';
import {
  diffSets,
  listsFirst,
  PARALLEL_RESTORES,
  parseIpsetSave,
  readSets,
  removeCreatedSets,
  restoreBatches,
  restoreSets,
  SETS_PER_RESTORE,
} from '../../agent/ipsets.js';
import type { CommandRunner } from '../../agent/runner.js';
import { isOwned, tempSetName } from '../../core/plan/names.js';

const saved = [
  'create operator-set hash:ip family inet hashsize 1024 maxelem 65536',
  'add operator-set 1.1.1.1',
  'create dyneg-n-keep hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1',
  'add dyneg-n-keep 2.2.2.0/24',
  'add dyneg-n-keep 1.1.1.1',
  'create dyneg-n-gone hash:net family inet hashsize 1024 maxelem 65536',
  '',
].join('\n');

describe('ipsets', () => {
  it('reads only owned sets, members sorted, /32 made explicit', () => {
    expect([...parseIpsetSave(saved)]).toEqual([
      ['dyneg-n-keep', ['1.1.1.1/32', '2.2.2.0/24']],
      ['dyneg-n-gone', []],
    ]);
  });

  it("leaves the host-name sets (agent/names/) out by default, so a sync never destroys them; uninstall's read takes them", () => {
    const withHostSets = `${saved}create dyneg-h-0123456789abcdef hash:ip family inet\nadd dyneg-h-0123456789abcdef 198.51.100.1\ncreate dyneg-ht-0123456789abcdef hash:ip family inet\n`;
    expect([...parseIpsetSave(withHostSets).keys()]).toEqual(['dyneg-n-keep', 'dyneg-n-gone']);
    expect(diffSets([], parseIpsetSave(withHostSets)).after).toEqual(['destroy dyneg-n-gone', 'destroy dyneg-n-keep']);
    expect([...parseIpsetSave(withHostSets, isOwned).keys()]).toEqual([
      'dyneg-n-keep',
      'dyneg-n-gone',
      'dyneg-h-0123456789abcdef',
      'dyneg-ht-0123456789abcdef',
    ]);
  });

  it('creates new sets before, destroys unused ones after, leaves matching ones alone', () => {
    const kernel = parseIpsetSave(saved);
    const diff = diffSets(
      [
        { name: 'dyneg-n-keep', type: 'hash:net', members: ['1.1.1.1/32', '2.2.2.0/24'] },
        { name: 'dyneg-n-new', type: 'hash:net', members: ['3.3.3.3/32'] },
      ],
      kernel,
    );
    expect(diff.before).toEqual(['create dyneg-n-new hash:net family inet', 'add dyneg-n-new 3.3.3.3/32']);
    expect(diff.created).toEqual(['dyneg-n-new']);
    expect(diff.after).toEqual(['destroy dyneg-n-gone']);
  });

  it('repairs a set whose members drifted with create, swap, destroy', () => {
    const diff = diffSets([{ name: 'dyneg-n-gone', type: 'hash:net', members: ['4.4.4.4/32'] }], parseIpsetSave(saved));
    const temp = tempSetName('dyneg-n-gone');
    expect(diff.before).toEqual([
      `create ${temp} hash:net family inet`,
      `add ${temp} 4.4.4.4/32`,
      `swap ${temp} dyneg-n-gone`,
      `destroy ${temp}`,
    ]);
    expect(diff.created).toEqual([]);
  });

  it('destroys a leftover scratch set once, in the repair, not again with the unused sets', () => {
    const temp = tempSetName('dyneg-n-gone');
    const kernel = parseIpsetSave(`${saved}create ${temp} hash:net family inet\n`);
    const diff = diffSets([{ name: 'dyneg-n-gone', type: 'hash:net', members: ['4.4.4.4/32'] }], kernel);
    expect(diff.before.filter((line) => line === `destroy ${temp}`)).toHaveLength(2);
    expect(diff.after).toEqual(['destroy dyneg-n-keep']);
  });

  it('undoes the sets a failed batch created, only those that exist', async () => {
    const calls: { args: readonly string[]; input?: string }[] = [];
    const runner = async (_command: string, args: readonly string[], input?: string) => {
      calls.push({ args, ...(input === undefined ? {} : { input }) });
      const stdout = args[0] === 'save' ? 'create dyneg-n-a hash:net family inet\n' : '';
      return { code: 0, stdout, stderr: '' };
    };
    await removeCreatedSets(runner, ['dyneg-n-a', 'dyneg-n-b']);
    expect(calls.at(-1)).toEqual({ args: ['restore'], input: 'destroy dyneg-n-a\n' });
  });

  it('tolerates a missing ipset binary only when no set is needed', async () => {
    const missing = async () => ({ code: 127, stdout: '', stderr: 'ipset: not found' });
    expect((await readSets(missing, false)).size).toBe(0);
    await expect(readSets(missing, true)).rejects.toThrow(/cannot read ipsets/);
  });
});

describe('restoreBatches', () => {
  it('cuts the lines in order into runs naming at most the limit of distinct sets', () => {
    const lines = [
      'create a hash:net family inet',
      'add a 1.1.1.1/32',
      'add a 1.1.1.2/32',
      'create b hash:net family inet',
      'add b 2.2.2.2/32',
      'create t hash:net family inet',
      'swap t c',
      'destroy t',
      'destroy d',
    ];
    const batches = restoreBatches(lines, 2);
    expect(batches).toEqual([
      [
        'create a hash:net family inet',
        'add a 1.1.1.1/32',
        'add a 1.1.1.2/32',
        'create b hash:net family inet',
        'add b 2.2.2.2/32',
      ],
      ['create t hash:net family inet', 'swap t c', 'destroy t'],
      ['destroy d'],
    ]);
    expect(batches.flat()).toEqual(lines);
  });

  it('keeps everything in one batch under the limit, and gives nothing for no lines', () => {
    expect(restoreBatches(['create a hash:net family inet', 'add a 1.1.1.1/32'])).toHaveLength(1);
    expect(restoreBatches([])).toEqual([]);
  });
});

describe('restoreSets', () => {
  const recorder = (failOn?: string) => {
    const inputs: string[] = [];
    let running = 0;
    let widest = 0;
    const runner: CommandRunner = async (_command, _args, input) => {
      running += 1;
      widest = Math.max(widest, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      inputs.push(input ?? '');
      const failed = failOn !== undefined && (input ?? '').includes(failOn);
      return { code: failed ? 1 : 0, stdout: '', stderr: failed ? 'ipset v7: boom\n' : '' };
    };
    return { runner, inputs, widest: () => widest };
  };
  const setLines = (count: number) =>
    Array.from({ length: count }, (_, index) => [
      `create s${index} hash:net family inet`,
      `add s${index} 10.0.0.${index % 250}/32`,
    ]).flat();

  it('runs batches naming disjoint sets several at a time, every line once', async () => {
    const kernel = recorder();
    const lines = setLines(SETS_PER_RESTORE * 5);
    await restoreSets(kernel.runner, lines);
    expect(kernel.inputs).toHaveLength(5);
    expect(kernel.widest()).toBe(PARALLEL_RESTORES);
    expect(kernel.inputs.join('').trimEnd().split('\n').sort()).toEqual([...lines].sort());
  });

  it('runs batches in order, one at a time, when a set is named in two of them', async () => {
    const kernel = recorder();
    const lines = [...setLines(SETS_PER_RESTORE), 'create t hash:net family inet', 'swap t s0', 'destroy t'];
    await restoreSets(kernel.runner, lines);
    expect(kernel.widest()).toBe(1);
    expect(kernel.inputs).toHaveLength(2);
    expect(kernel.inputs.at(-1)).toBe('create t hash:net family inet\nswap t s0\ndestroy t\n');
  });

  it('fails with the first error and starts no further batch', async () => {
    const kernel = recorder('create s0 ');
    await expect(restoreSets(kernel.runner, setLines(SETS_PER_RESTORE * 9), 1)).rejects.toThrow(
      /ipset restore failed \(exit 1\): ipset v7: boom/,
    );
    expect(kernel.inputs).toHaveLength(1);
  });
});

describe('list:sets (a destination several sources list)', () => {
  const hash = (name: string, ...members: string[]) => ({ name, type: 'hash:net' as const, members });
  const list = (name: string, ...members: string[]) => ({ name, type: 'list:set' as const, members });
  const kernelSaved = [
    'create dyneg-n-old hash:net family inet hashsize 1024 maxelem 65536',
    'add dyneg-n-old 9.9.9.9',
    'create dyneg-l-old list:set size 8',
    'add dyneg-l-old dyneg-n-old',
    '',
  ].join('\n');

  it('reads a list:set member as the set name it is, not as an address', () => {
    expect(parseIpsetSave(kernelSaved).get('dyneg-l-old')).toEqual(['dyneg-n-old']);
    expect(parseIpsetSave(kernelSaved).get('dyneg-n-old')).toEqual(['9.9.9.9/32']);
  });

  it('creates the members before the list, and destroys the old list before its members', () => {
    const diff = diffSets(
      [list('dyneg-l-new', 'dyneg-n-a', 'dyneg-n-b'), hash('dyneg-n-a', '1.1.1.0/31'), hash('dyneg-n-b', '2.2.2.2/32')],
      parseIpsetSave(kernelSaved),
    );
    expect(diff.before).toEqual([
      'create dyneg-n-a hash:net family inet',
      'add dyneg-n-a 1.1.1.0/31',
      'create dyneg-n-b hash:net family inet',
      'add dyneg-n-b 2.2.2.2/32',
      'create dyneg-l-new list:set size 8',
      'add dyneg-l-new dyneg-n-a',
      'add dyneg-l-new dyneg-n-b',
    ]);
    expect(diff.after).toEqual(['destroy dyneg-l-old', 'destroy dyneg-n-old']);
    expect(diff.created).toEqual(['dyneg-l-new', 'dyneg-n-a', 'dyneg-n-b']);
  });

  it('orders names for destroying: lists (scratch ones too) first, whatever the rest of the name', () => {
    expect(['dyneg-n-b', 'dyneg-lt-x', 'dyneg-a-z', 'dyneg-l-y'].sort(listsFirst)).toEqual([
      'dyneg-l-y',
      'dyneg-lt-x',
      'dyneg-a-z',
      'dyneg-n-b',
    ]);
  });

  it('repairs a drifted list with a list scratch set, after the members exist', () => {
    const diff = diffSets(
      [list('dyneg-l-old', 'dyneg-n-fresh'), hash('dyneg-n-fresh', '3.3.3.3/32')],
      parseIpsetSave(kernelSaved),
    );
    const temp = tempSetName('dyneg-l-old');
    expect(temp.startsWith('dyneg-l')).toBe(true);
    expect(diff.before.slice(2)).toEqual([
      `create ${temp} list:set size 8`,
      `add ${temp} dyneg-n-fresh`,
      `swap ${temp} dyneg-l-old`,
      `destroy ${temp}`,
    ]);
    expect(diff.after).toEqual(['destroy dyneg-n-old']);
  });

  it('runs members, then lists, in separate stages (a stage may run its batches at once)', async () => {
    const events: string[] = [];
    const runner: CommandRunner = async (_command, _args, input = '') => {
      const subject = input.split(' ')[1] ?? '';
      events.push(`start ${subject}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`end ${subject}`);
      return { code: 0, stdout: '', stderr: '' };
    };
    const members = Array.from({ length: SETS_PER_RESTORE * 2 }, (_, index) => `create s${index} hash:net family inet`);
    const lists = ['create dyneg-l-x list:set size 8', 'add dyneg-l-x s0', `add dyneg-l-x s${SETS_PER_RESTORE}`];
    await restoreSets(runner, [...members, ...lists]);
    // Both member batches ran at once and ended before the list's batch started.
    expect(events).toEqual([
      'start s0',
      `start s${SETS_PER_RESTORE}`,
      'end s0',
      `end s${SETS_PER_RESTORE}`,
      'start dyneg-l-x',
      'end dyneg-l-x',
    ]);
  });
});
