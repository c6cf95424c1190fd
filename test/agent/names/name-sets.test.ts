// The restores that set the host sets: each wanted set rebuilt in its scratch set and swapped in,
// missing ones created first, unwanted host sets destroyed after, every other set left alone.
import { describe, expect, it } from 'vitest';
import { planHostSets } from '../../../agent/names/name-sets.js';
import { hostSetName, hostTempSetName, isHostSet, isOwned, isPlanSet } from '../../../core/plan/names.js';

const A = hostSetName('dest-a');
const B = hostSetName('dest-b');
const GONE = hostSetName('dest-gone');

describe('host set names', () => {
  it('are owned, deterministic per destination, short enough for ipset, and not the sync plan sets', () => {
    expect(A).toMatch(/^dyneg-h-[0-9a-f]{16}$/);
    expect(hostSetName('dest-a')).toBe(A);
    expect(A).not.toBe(B);
    expect(hostTempSetName(A)).toMatch(/^dyneg-ht-[0-9a-f]{16}$/);
    expect(hostTempSetName(A).length).toBeLessThanOrEqual(31);
    for (const name of [A, hostTempSetName(A)]) {
      expect(isOwned(name)).toBe(true);
      expect(isHostSet(name)).toBe(true);
      expect(isPlanSet(name)).toBe(false);
    }
    expect(isPlanSet('dyneg-n-0123456789abcdef')).toBe(true);
    expect(isHostSet('dyneg-n-0123456789abcdef')).toBe(false);
  });
});

describe('planHostSets', () => {
  it('creates a missing set, rebuilds every wanted set by swap, destroys unwanted host sets and leftover scratch sets', () => {
    const wanted = new Map([
      [B, ['198.51.100.2', '198.51.100.1', '198.51.100.2']],
      [A, []],
    ]);
    const existing = [B, GONE, hostTempSetName(B), hostTempSetName(GONE), 'dyneg-n-0123456789abcdef', 'operator'];
    const update = planHostSets(wanted, existing);
    const [first, second] = [A, B].sort();
    const lines = (name: string, members: string[], create: boolean, leftover: boolean) => [
      ...(create ? [`create ${name} hash:ip family inet`] : []),
      ...(leftover ? [`destroy ${hostTempSetName(name)}`] : []),
      `create ${hostTempSetName(name)} hash:ip family inet`,
      ...members.map((member) => `add ${hostTempSetName(name)} ${member}`),
      `swap ${hostTempSetName(name)} ${name}`,
      `destroy ${hostTempSetName(name)}`,
    ];
    const forSet = (name: string | undefined) =>
      name === A ? lines(A, [], true, false) : lines(B, ['198.51.100.1', '198.51.100.2'], false, true);
    expect(update.write).toEqual([...forSet(first), ...forSet(second)]);
    expect(update.created).toEqual([A]);
    expect(update.destroy).toEqual([GONE, hostTempSetName(GONE)].sort());
  });

  it('with nothing wanted, destroys every host set and nothing else', () => {
    expect(planHostSets(new Map(), [A, 'dyneg-n-0123456789abcdef', 'dyneg-l-0123456789abcdef', 'x'])).toEqual({
      write: [],
      destroy: [A],
      created: [],
    });
  });

  it('refuses to write a set that is not a host set', () => {
    expect(() => planHostSets(new Map([['dyneg-n-0123456789abcdef', []]]), [])).toThrow('not a host set name');
  });
});
