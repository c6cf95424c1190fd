import { describe, expect, it } from 'vitest';
import { enclosingCidr, mergeSpans, normalizeCidr, rangeAsCidr, rangeToCidrs } from '../../../core/plan/cidr.js';

describe('cidr', () => {
  it('covers a range exactly with the fewest blocks', () => {
    expect(rangeToCidrs('10.0.0.1', '10.0.0.1')).toEqual(['10.0.0.1/32']);
    expect(rangeToCidrs('10.0.0.1', '10.0.0.6')).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    expect(rangeToCidrs('10.0.0.0', '10.0.255.255')).toEqual(['10.0.0.0/16']);
    expect(rangeToCidrs('0.0.0.0', '255.255.255.255')).toEqual(['0.0.0.0/1', '128.0.0.0/1']);
    expect(rangeToCidrs('255.255.255.254', '255.255.255.255')).toEqual(['255.255.255.254/31']);
  });

  it('merges spans that overlap or touch, sorted, without changing its input', () => {
    const spans = [
      { first: 20, last: 30 },
      { first: 0, last: 5 },
      { first: 6, last: 8 },
      { first: 25, last: 26 },
      { first: 10, last: 12 },
      { first: 0xfffffffe, last: 0xffffffff },
    ];
    const copy = spans.map((span) => ({ ...span }));
    expect(mergeSpans(spans)).toEqual([
      { first: 0, last: 8 },
      { first: 10, last: 12 },
      { first: 20, last: 30 },
      { first: 0xfffffffe, last: 0xffffffff },
    ]);
    expect(spans).toEqual(copy);
    expect(mergeSpans([])).toEqual([]);
  });

  it('tells whether a range is one block', () => {
    expect(rangeAsCidr('1.2.3.0', '1.2.3.255')).toBe('1.2.3.0/24');
    expect(rangeAsCidr('1.2.3.1', '1.2.3.255')).toBeUndefined();
  });

  it('finds enclosing blocks and normalizes CIDRs', () => {
    expect(enclosingCidr('10.255.1.17', 28)).toBe('10.255.1.16/28');
    expect(enclosingCidr('10.255.1.17', 24)).toBe('10.255.1.0/24');
    expect(normalizeCidr('10.255.7.7/16')).toBe('10.255.0.0/16');
    expect(() => normalizeCidr('10.255.0.0/33')).toThrow(RangeError);
    expect(() => normalizeCidr('10.255.0.0')).toThrow(RangeError);
  });
});
