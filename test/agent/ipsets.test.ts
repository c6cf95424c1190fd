import { describe, expect, it } from 'vitest';
import {
  diffSets,
  PARALLEL_RESTORES,
  parseIpsetSave,
  readSets,
  removeCreatedSets,
  restoreBatches,
  restoreSets,
  SETS_PER_RESTORE,
} from '../../agent/ipsets.js';
import { tempSetName } from '../../agent/names.js';
import type { CommandRunner } from '../../agent/runner.js';

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
