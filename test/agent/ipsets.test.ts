import { describe, expect, it } from 'vitest';
import { diffSets, parseIpsetSave, readSets, removeCreatedSets } from '../../agent/ipsets.js';
import { tempSetName } from '../../agent/names.js';

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
