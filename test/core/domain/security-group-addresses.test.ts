// The destinations Cloud Controller accepts and refuses (its RulesValidator spec and the IPAddr
// rules behind it), and the ranges the cells get from them.
import { describe, expect, it } from 'vitest';
import {
  destinationProblems,
  destinationRanges,
  DESTINATION_MESSAGES as M,
  MAX_DESTINATIONS_PER_RULE,
} from '../../../core/domain/security-group-addresses.js';

const range = (start: string, end = start) => ({ start, end });
const list = (count: number, entry = '192.168.1.3') => Array.from({ length: count }, () => entry).join(',');

describe('destinationProblems and destinationRanges of an accepted destination', () => {
  it.each([
    ['one address', '192.168.10.2', [range('192.168.10.2')]],
    ['the lowest address', '0.0.0.0', [range('0.0.0.0')]],
    ['the highest address', '255.255.255.255', [range('255.255.255.255')]],
    ['a CIDR', '10.10.10.0/24', [range('10.10.10.0', '10.10.10.255')]],
    ['a /0, everything', '0.0.0.0/0', [range('0.0.0.0', '255.255.255.255')]],
    ['a /32, one address', '10.0.0.1/32', [range('10.0.0.1')]],
    ['a /31 at the top', '255.255.255.255/31', [range('255.255.255.254', '255.255.255.255')]],
    [
      'a CIDR with host bits set: its network, as IPAddr masks it',
      '192.168.10.2/24',
      [range('192.168.10.0', '192.168.10.255')],
    ],
    ['host bits set on a /0', '10.1.2.3/0', [range('0.0.0.0', '255.255.255.255')]],
    ['a range', '192.168.10.2-192.168.15.254', [range('192.168.10.2', '192.168.15.254')]],
    ['a range of one address', '1.0.0.1-1.0.0.1', [range('1.0.0.1')]],
    ['the widest range', '0.0.0.0-255.255.255.255', [range('0.0.0.0', '255.255.255.255')]],
    [
      'a list of CIDRs',
      '10.0.0.0/8,192.168.0.0/16',
      [range('10.0.0.0', '10.255.255.255'), range('192.168.0.0', '192.168.255.255')],
    ],
    [
      'a CIDR, a range and an address, in the order given',
      '10.0.0.0/8,1.0.0.0-1.0.0.255,4.5.6.7',
      [range('10.0.0.0', '10.255.255.255'), range('1.0.0.0', '1.0.0.255'), range('4.5.6.7')],
    ],
    ['repeated entries, kept', '10.0.0.1,10.0.0.1', [range('10.0.0.1'), range('10.0.0.1')]],
    [
      'zero octets that are not leading zeros',
      '10.0.0.0/24,0.0.0.0-0.0.0.10',
      [range('10.0.0.0', '10.0.0.255'), range('0.0.0.0', '0.0.0.10')],
    ],
  ])('%s: %s', (_case, destination, ranges) => {
    expect([...destinationProblems(destination)]).toEqual([]);
    expect(destinationRanges(destination)).toEqual(ranges);
  });

  it(`accepts ${MAX_DESTINATIONS_PER_RULE.toLocaleString('en-US')} entries`, () => {
    const destination = list(6000);
    expect([...destinationProblems(destination)]).toEqual([]);
    expect(destinationRanges(destination)).toHaveLength(6000);
  });
});

describe('destinationProblems of a refused destination', () => {
  it.each([
    // Not a string.
    ['absent', undefined, [M.missing]],
    ['null', null, [M.missing]],
    ['a number', 42, [M.notString]],
    ['an array', ['10.0.0.1'], [M.notString]],
    // Whitespace anywhere, around entries or inside.
    ['leading spaces', '    10.10.10.10', [M.whitespace]],
    ['spaces around commas', '    10.10.10.10   ,   192.168.17.12', [M.whitespace]],
    ['a trailing newline', '10.0.0.1\n', [M.whitespace]],
    ['a tab in a range', '10.0.0.1-\t10.0.0.2', [M.whitespace]],
    ['a no-break space', '10.0.0.1\u00a0', [M.whitespace]],
    // Empty, whole or an entry.
    ['empty', '', [`${M.invalid} (got "")`]],
    ['an empty first entry', ',10.10.10.10,11.11.11.11', [`${M.empty} (got "")`]],
    ['an empty middle entry', '10.10.10.10,,11.11.11.11', [`${M.empty} (got "")`]],
    ['an empty last entry', '10.10.10.10,11.11.11.11,', [`${M.empty} (got "")`]],
    ['only a comma', ',', [`${M.empty} (got "")`, `${M.empty} (got "")`]],
    // Not an address.
    ['digits only', '1010', [`${M.invalid} (got "1010")`]],
    ['octets over 255', '999.999.999.999', [`${M.invalid} (got "999.999.999.999")`]],
    ['256 in the last octet', '10.0.0.256', [`${M.invalid} (got "10.0.0.256")`]],
    ['three octets', '1.2.3', [`${M.invalid} (got "1.2.3")`]],
    ['five octets', '1.2.3.4.5', [`${M.invalid} (got "1.2.3.4.5")`]],
    ['a trailing dot', '1.2.3.4.', [`${M.invalid} (got "1.2.3.4.")`]],
    ['a host name', 'example.com', [`${M.invalid} (got "example.com")`]],
    ['a word', 'any', [`${M.invalid} (got "any")`]],
    ['an address with a port', '10.0.0.1:80', [`${M.invalid} (got "10.0.0.1:80")`]],
    ['non-ASCII digits', '١٠.0.0.1', [`${M.invalid} (got "١٠.0.0.1")`]],
    ['a sign', '+10.0.0.1', [`${M.invalid} (got "+10.0.0.1")`]],
    // Bad prefix lengths.
    ['/33', '10.0.0.0/33', [`${M.invalid} (got "10.0.0.0/33")`]],
    ['/240', '192.168.10.2/240', [`${M.invalid} (got "192.168.10.2/240")`]],
    ['an empty prefix', '10.0.0.0/', [`${M.invalid} (got "10.0.0.0/")`]],
    ['a negative prefix (a range, to CF)', '10.0.0.0/-1', [`${M.invalidRange} (got "10.0.0.0/-1")`]],
    ['a prefix with a leading zero (IPAddr refuses it)', '10.0.0.0/08', [`${M.invalid} (got "10.0.0.0/08")`]],
    ['a zero-padded /0', '0.0.0.0/00', [`${M.invalid} (got "0.0.0.0/00")`]],
    ['two prefixes', '10.0.0.0/24/8', [`${M.invalid} (got "10.0.0.0/24/8")`]],
    ['non-ASCII prefix digits', '10.0.0.0/２４', [`${M.invalid} (got "10.0.0.0/２４")`]],
    [
      'a netmask (IPAddr takes it, the cells cannot)',
      '10.0.0.0/255.255.255.0',
      [`${M.invalid} (got "10.0.0.0/255.255.255.0")`],
    ],
    ['only a prefix', '/24', [`${M.invalid} (got "/24")`]],
    // Leading zeros, in any octet, of an address, a CIDR or a range end.
    ['a zero-padded first octet', '010.0.0.53', [`${M.leadingZeros} (got "010.0.0.53")`]],
    ['a zero-padded second octet', '10.000.0.53', [`${M.leadingZeros} (got "10.000.0.53")`]],
    ['a zero-padded third octet', '10.0.000.53', [`${M.leadingZeros} (got "10.0.000.53")`]],
    ['a zero-padded last octet', '10.0.0.053', [`${M.leadingZeros} (got "10.0.0.053")`]],
    ['every octet zero-padded', '010.000.000.053', [`${M.leadingZeros} (got "010.000.000.053")`]],
    ['a zero-padded CIDR octet', '10.000.0.0/24', [`${M.leadingZeros} (got "10.000.0.0/24")`]],
    ['a zero-padded CIDR last octet', '10.0.0.000/24', [`${M.leadingZeros} (got "10.0.0.000/24")`]],
    ['a zero-padded range start', '010.0.0.1-10.0.0.9', [`${M.leadingZeros} (got "010.0.0.1-10.0.0.9")`]],
    ['a zero-padded range end', '1.0.0.0-1.0.0.0200', [`${M.leadingZeros} (got "1.0.0.0-1.0.0.0200")`]],
    ['an octet of 0 and more, as CF tests it', '1.2.3.0x', [`${M.leadingZeros} (got "1.2.3.0x")`]],
    // Ranges.
    [
      'a range with a three-octet end',
      '192.168.10.2-192.168.105',
      [`${M.invalidRange} (got "192.168.10.2-192.168.105")`],
    ],
    ['a prefix on the range end', '1.1.1.1-2.2.2.2/30', [`${M.invalidRange} (got "1.1.1.1-2.2.2.2/30")`]],
    ['a prefix on the range start', '1.1.1.0/24-1.1.1.9', [`${M.invalidRange} (got "1.1.1.0/24-1.1.1.9")`]],
    ['no range start', '-10.0.0.1', [`${M.invalidRange} (got "-10.0.0.1")`]],
    [
      'no range end (CF reads it as an address; the cells cannot)',
      '10.0.0.1-',
      [`${M.invalidRange} (got "10.0.0.1-")`],
    ],
    ['a dot before the dash', '1.1.1.1.-2.2.2.2', [`${M.invalidRange} (got "1.1.1.1.-2.2.2.2")`]],
    ['three range ends', '1.2.3.4-1.2.3.5-1.2.3.6', [`${M.invalid} (got "1.2.3.4-1.2.3.5-1.2.3.6")`]],
    ['a reversed range', '9.9.9.9-0.0.0.0', [`${M.reversedRange} (got "9.9.9.9-0.0.0.0")`]],
    ['a range reversed by one', '10.0.0.2-10.0.0.1', [`${M.reversedRange} (got "10.0.0.2-10.0.0.1")`]],
    // IPv6, named as such.
    ['an IPv6 address', '2001:db8::', [`${M.ipv6} (got "2001:db8::")`]],
    ['an IPv6 CIDR', '2001:db8::/32', [`${M.ipv6} (got "2001:db8::/32")`]],
    ['IPv6 loopback', '::1', [`${M.ipv6} (got "::1")`]],
    ['every IPv6 address', '::/0', [`${M.ipv6} (got "::/0")`]],
    ['a full IPv6 address', '2001:0db8:0:0:0:0:0:1', [`${M.ipv6} (got "2001:0db8:0:0:0:0:0:1")`]],
    ['an IPv4-mapped IPv6 address', '::ffff:10.0.0.1', [`${M.ipv6} (got "::ffff:10.0.0.1")`]],
    ['an IPv6 range', '2001:db8::1-2001:db8::ff', [`${M.ipv6} (got "2001:db8::1-2001:db8::ff")`]],
    ['IPv6 beside IPv4', '2001:db8::,192.168.200.1', [`${M.ipv6} (got "2001:db8::")`]],
    ['nine hextets, not IPv6', '1:2:3:4:5:6:7:8:9', [`${M.invalid} (got "1:2:3:4:5:6:7:8:9")`]],
    ['two "::", not IPv6', '1::2::3', [`${M.invalid} (got "1::2::3")`]],
    ['IPv4-mapped with a zero-padded octet, not IPv6', '::ffff:010.0.0.1', [`${M.invalid} (got "::ffff:010.0.0.1")`]],
    ['IPv4-mapped with a bad octet, not IPv6', '::ffff:1.2.3.256', [`${M.invalid} (got "::ffff:1.2.3.256")`]],
    // Every bad entry is named, in order.
    [
      'four bad entries',
      '1.2-7.8,999.999.999.999,200.0.0.0-150.0.0.0,10.0.0.0/500',
      [
        `${M.invalidRange} (got "1.2-7.8")`,
        `${M.invalid} (got "999.999.999.999")`,
        `${M.reversedRange} (got "200.0.0.0-150.0.0.0")`,
        `${M.invalid} (got "10.0.0.0/500")`,
      ],
    ],
    ['one bad entry among good ones', '192.168.10.2/24,1.2', [`${M.invalid} (got "1.2")`]],
  ])('%s: %j', (_case, destination, problems) => {
    expect([...destinationProblems(destination)]).toEqual(problems);
    if (typeof destination === 'string') expect(() => destinationRanges(destination)).toThrow(RangeError);
  });

  it(`refuses ${(MAX_DESTINATIONS_PER_RULE + 1).toLocaleString('en-US')} entries, with the count`, () => {
    const destination = list(6001);
    expect([...destinationProblems(destination)]).toEqual([`${M.tooMany} (got 6,001)`]);
    expect(() => destinationRanges(destination)).toThrow(RangeError);
  });

  it('names the bad entries of a list that is too long among its first 6,000 only', () => {
    // Entries 1 and 6,000 are examined; 6,001 and 6,002 are not.
    expect([...destinationProblems(`010.0.0.1,${list(5998)},1.2.3,10.0.0.1-,1.2.3`)]).toEqual([
      `${M.tooMany} (got 6,002)`,
      `${M.leadingZeros} (got "010.0.0.1")`,
      `${M.invalid} (got "1.2.3")`,
    ]);
  });

  it("keeps CF's wording", () => {
    expect(M.tooMany).toBe('maximum destinations per rule exceeded - must be under 6000');
    expect(M.missing).toBe(
      'nil destination; destination must be a comma-delimited list of valid CIDRs, IP addresses, or IP address ranges',
    );
  });

  it('quotes what it cannot print as escapes', () => {
    expect([...destinationProblems('10.0.0.1\u202e')]).toEqual([`${M.invalid} (got "10.0.0.1\\u202e")`]);
  });
});
