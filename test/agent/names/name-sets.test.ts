// The restores that set the host sets: each wanted set rebuilt in its scratch set and swapped in,
// missing ones created first, unwanted host sets destroyed after, every other set left alone.
import { describe, expect, it } from 'vitest';
import { MAX_MEMBER_TIMEOUT_SECONDS, planHostSets } from '../../../agent/names/name-sets.js';
import { hostSetName, hostTempSetName, isHostSet, isOwned, isPlanSet } from '../../../core/plan/names.js';

const A = hostSetName('dest-a', ['a.example.test']);
const B = hostSetName('dest-b', ['a.example.test']);
const GONE = hostSetName('dest-gone', ['gone.example.test']);

describe('host set names', () => {
  it('are owned, deterministic per destination and names, short enough for ipset, and not the sync plan sets', () => {
    expect(A).toMatch(/^dyneg-h-[0-9a-f]{16}$/);
    expect(hostSetName('dest-a', ['a.example.test'])).toBe(A);
    expect(A).not.toBe(B);
    // Its names in any order, repeated or not, are the same set; other names are another.
    expect(hostSetName('dest-a', ['b.example.test', 'a.example.test', 'b.example.test'])).toBe(
      hostSetName('dest-a', ['a.example.test', 'b.example.test']),
    );
    expect(hostSetName('dest-a', ['b.example.test'])).not.toBe(A);
    expect(hostSetName('dest-a', ['a.example.test', 'b.example.test'])).not.toBe(A);
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
      [
        B,
        [
          { address: '198.51.100.2', seconds: 30 },
          { address: '198.51.100.1', seconds: 299.2 },
          { address: '198.51.100.2', seconds: 600 },
        ],
      ],
      [A, []],
    ]);
    const existing = [B, GONE, hostTempSetName(B), hostTempSetName(GONE), 'dyneg-n-0123456789abcdef', 'operator'];
    const update = planHostSets(wanted, existing);
    const [first, second] = [A, B].sort();
    const lines = (name: string, members: string[], create: boolean, leftover: boolean) => [
      ...(create ? [`create ${name} hash:ip family inet timeout 0`] : []),
      ...(leftover ? [`destroy ${hostTempSetName(name)}`] : []),
      `create ${hostTempSetName(name)} hash:ip family inet timeout 0`,
      ...members.map((member) => `add ${hostTempSetName(name)} ${member}`),
      `swap ${hostTempSetName(name)} ${name}`,
      `destroy ${hostTempSetName(name)}`,
    ];
    const forSet = (name: string | undefined) =>
      name === A
        ? lines(A, [], true, false)
        : lines(B, ['198.51.100.1 timeout 300', '198.51.100.2 timeout 600'], false, true);
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

  it('gives every member a timeout of whole seconds, at least 1 and at most what ipset takes', () => {
    const update = planHostSets(
      new Map([
        [
          A,
          [
            { address: '198.51.100.1', seconds: 0 },
            { address: '198.51.100.2', seconds: -5 },
            { address: '198.51.100.3', seconds: 0.001 },
            { address: '198.51.100.4', seconds: 1e12 },
            { address: '198.51.100.5', seconds: Number.NaN },
          ],
        ],
      ]),
      [A],
    );
    expect(update.write.filter((line) => line.startsWith('add '))).toEqual([
      `add ${hostTempSetName(A)} 198.51.100.1 timeout 1`,
      `add ${hostTempSetName(A)} 198.51.100.2 timeout 1`,
      `add ${hostTempSetName(A)} 198.51.100.3 timeout 1`,
      `add ${hostTempSetName(A)} 198.51.100.4 timeout ${MAX_MEMBER_TIMEOUT_SECONDS}`,
      `add ${hostTempSetName(A)} 198.51.100.5 timeout 1`,
    ]);
  });

  it('refuses to write a set that is not a host set', () => {
    expect(() => planHostSets(new Map([['dyneg-n-0123456789abcdef', []]]), [])).toThrow('not a host set name');
  });
});
