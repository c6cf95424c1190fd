import { describe, expect, it } from 'vitest';
import { ipv4ToNumber, parseCidr } from '../../../core/domain/ipv4.js';
import { mergeSpans, type Span, spansToCidrs } from '../../../core/plan/cidr.js';
import { type NestedBlocks, nestedBlockCount, nestedBlocks } from '../../../core/plan/nested-blocks.js';

const span = (first: string, last: string): Span => ({ first: ipv4ToNumber(first), last: ipv4ToNumber(last) });

/** How the kernel reads the entries: the most specific block holding the address decides. */
function matches(entries: NestedBlocks, address: number): boolean {
  let decided = -1;
  let inside = false;
  for (const [blocks, verdict] of [
    [entries.members, true],
    [entries.nomatch, false],
  ] as const) {
    for (const block of blocks) {
      const { start, end } = parseCidr(block);
      const prefix = Number(block.split('/')[1]);
      if (address >= start && address <= end && prefix > decided) {
        decided = prefix;
        inside = verdict;
      }
    }
  }
  return inside;
}

function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * below);
  };
}

describe('nestedBlocks', () => {
  it('carves a range out of one block when that is fewer entries: .1-.254 is a /24 less two /32s', () => {
    expect(nestedBlocks([span('10.0.0.1', '10.0.0.254')])).toEqual({
      members: ['10.0.0.0/24'],
      nomatch: ['10.0.0.0/32', '10.0.0.255/32'],
    });
    // Nested three deep: a member inside a hole inside a member.
    expect(nestedBlocks([span('10.0.0.0', '10.0.0.126'), span('10.0.0.128', '10.0.0.255')])).toEqual({
      members: ['10.0.0.0/24'],
      nomatch: ['10.0.0.127/32'],
    });
  });

  it('keeps exact blocks when holes would not save an entry (a tie keeps them)', () => {
    expect(nestedBlocks([span('10.0.0.0', '10.0.0.2')])).toEqual({
      members: ['10.0.0.0/31', '10.0.0.2/32'],
      nomatch: [],
    });
    expect(nestedBlocks([span('10.0.0.0', '10.0.0.255')])).toEqual({ members: ['10.0.0.0/24'], nomatch: [] });
    expect(nestedBlocks([span('10.0.0.7', '10.0.0.7')])).toEqual({ members: ['10.0.0.7/32'], nomatch: [] });
    expect(nestedBlocks([])).toEqual({ members: [], nomatch: [] });
  });

  it('never writes /0 (ipset refuses it): the whole space is two /1s, and all but one address three entries', () => {
    expect(nestedBlocks([span('0.0.0.0', '255.255.255.255')])).toEqual({
      members: ['0.0.0.0/1', '128.0.0.0/1'],
      nomatch: [],
    });
    expect(nestedBlocks([span('0.0.0.1', '255.255.255.255')])).toEqual({
      members: ['0.0.0.0/1', '128.0.0.0/1'],
      nomatch: ['0.0.0.0/32'],
    });
    expect(nestedBlocks([span('255.255.255.254', '255.255.255.255')]).members).toEqual(['255.255.255.254/31']);
  });

  it('matches exactly the addresses of every subset of an 8-address block (all 256), in no more entries than exact blocks', () => {
    const base = ipv4ToNumber('10.9.8.0');
    for (let subset = 0; subset < 256; subset += 1) {
      const spans: Span[] = [];
      for (let bit = 0; bit < 8; bit += 1) if (subset & (1 << bit)) spans.push({ first: base + bit, last: base + bit });
      const entries = nestedBlocks(spans);
      // Two addresses either side of the block too: nothing outside may match.
      for (let address = base - 2; address < base + 10; address += 1) {
        const wanted = address >= base && address < base + 8 && (subset & (1 << (address - base))) !== 0;
        expect(matches(entries, address), `subset ${subset}, address ${address - base}`).toBe(wanted);
      }
      const count = entries.members.length + entries.nomatch.length;
      expect(count).toBe(nestedBlockCount(spans));
      expect(count).toBeLessThanOrEqual(spansToCidrs(spans).length);
    }
  });

  it('matches exactly the addresses of 500 random lists of ranges, and saves entries on the wide ones', () => {
    const next = random(7);
    const origin = ipv4ToNumber('10.1.0.0');
    let exact = 0;
    let nested = 0;
    for (let round = 0; round < 500; round += 1) {
      const spans = Array.from({ length: 1 + next(6) }, () => {
        const first = origin + next(1024);
        return { first, last: Math.min(origin + 1023, first + (next(3) === 0 ? next(300) : next(3))) };
      });
      const inside = (address: number) => spans.some((each) => address >= each.first && address <= each.last);
      const entries = nestedBlocks(spans);
      for (let address = origin - 300; address < origin + 1324; address += 1) {
        if (matches(entries, address) !== inside(address))
          throw new Error(`round ${round}: address ${address - origin}`);
      }
      // Each hole lies inside a member: a nomatch entry alone would mean nothing.
      for (const hole of entries.nomatch) {
        const { start } = parseCidr(hole);
        expect(
          entries.members.some((member) => parseCidr(member).start <= start && parseCidr(member).end >= start),
        ).toBe(true);
      }
      exact += spansToCidrs(spans).length;
      nested += entries.members.length + entries.nomatch.length;
    }
    expect(nested).toBeLessThan(exact * 0.9);
  });

  it('gives the same entries however the addresses were spelled (merged first)', () => {
    const spelled = [span('10.0.0.1', '10.0.0.100'), span('10.0.0.50', '10.0.0.254')];
    expect(nestedBlocks(spelled)).toEqual(nestedBlocks(mergeSpans(spelled)));
    expect(nestedBlocks(spelled)).toEqual(nestedBlocks([span('10.0.0.1', '10.0.0.254')]));
  });
});
