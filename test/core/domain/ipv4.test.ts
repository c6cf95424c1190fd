import { describe, expect, it } from 'vitest';
import { ipv4ToNumber, isIpv4, numberToIpv4, parseCidr } from '../../../core/domain/ipv4.js';

describe('ipv4', () => {
  it('recognises dotted quads only', () => {
    expect(['0.0.0.0', '255.255.255.255', '10.255.82.67'].every(isIpv4)).toBe(true);
    expect(['256.1.1.1', '1.1.1', '01.1.1.1', '1.1.1.1/32', ' 1.1.1.1', '1.1.1.1 -j ACCEPT', ''].some(isIpv4)).toBe(
      false,
    );
  });

  it('converts to and from numbers', () => {
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(numberToIpv4(ipv4ToNumber('10.255.0.1'))).toBe('10.255.0.1');
  });

  it('parses CIDR blocks to inclusive bounds', () => {
    const block = parseCidr('10.255.0.0/16');
    expect(numberToIpv4(block.start)).toBe('10.255.0.0');
    expect(numberToIpv4(block.end)).toBe('10.255.255.255');
    expect(() => parseCidr('10.0.0.0/33')).toThrow(RangeError);
  });
});
