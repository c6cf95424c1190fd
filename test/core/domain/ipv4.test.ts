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

describe('isIpv4 against the dotted-quad grammar', () => {
  // The grammar as a regex: the parser is a character loop and must accept exactly this language.
  const GRAMMAR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

  it.each([
    '0.0.0.0',
    '255.255.255.255',
    '10.255.1.2',
    '01.2.3.4',
    '1.2.3.00',
    '1.2.3.256',
    '1.2.3',
    '1.2.3.4.5',
    '1..2.3',
    '.1.2.3',
    '1.2.3.',
    ' 1.2.3.4',
    '1.2.3.4\n',
    '1.2.3.４',
    '1.2.3.-4',
    '1.2.3.4/32',
    '',
  ])('%j', (value) => {
    expect(isIpv4(value)).toBe(GRAMMAR.test(value));
  });

  it('agrees on 20,000 random strings over its alphabet, and parses what it accepts to the same number', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = '0123456789.. 5';
    for (let i = 0; i < 20_000; i += 1) {
      const length = 1 + Math.floor(random() * 16);
      let value = '';
      for (let k = 0; k < length; k += 1) value += alphabet[Math.floor(random() * alphabet.length)];
      expect(isIpv4(value), value).toBe(GRAMMAR.test(value));
      if (GRAMMAR.test(value)) {
        expect(ipv4ToNumber(value)).toBe(value.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0));
        expect(numberToIpv4(ipv4ToNumber(value))).toBe(value);
      }
    }
  });
});
