// CF V3 security group rules: what Cloud Controller's message validator and model accept and
// refuse, in its words, and the port ranges the cells get.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/domain/errors.js';
import { DESTINATION_MESSAGES } from '../../../core/domain/security-group-addresses.js';
import {
  decodeSecurityGroupRules,
  destinationRanges,
  RULE_MESSAGES as M,
  portRanges,
} from '../../../core/domain/security-group-rules.js';

/** The ValidationError's message for `rules`; fails the test when they are accepted. */
function refusal(rules: unknown): string {
  try {
    decodeSecurityGroupRules(rules);
  } catch (error) {
    if (error instanceof ValidationError) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(rules)}`);
}

const tcp = (fields: Record<string, unknown>) => [
  { protocol: 'tcp', destination: '10.0.0.0/8', ports: '443', ...fields },
];
const icmp = (fields: Record<string, unknown>) => [
  { protocol: 'icmp', destination: '10.0.0.0/8', type: -1, code: -1, ...fields },
];

describe('decodeSecurityGroupRules: the list and its items', () => {
  it('accepts an empty list', () => {
    expect(decodeSecurityGroupRules([])).toEqual([]);
  });

  it.each([
    ['a string', 'bad rule'],
    ['an object', { protocol: 'tcp' }],
    ['null', null],
    ['absent', undefined],
    ['a number', 1],
  ])('refuses %s instead of an array', (_case, rules) => {
    expect(refusal(rules)).toBe('rules: must be an array');
  });

  it.each([
    ['a string', 'bad rule'],
    ['null', null],
    ['a number', 42],
    ['an array', [{ protocol: 'all' }]],
    ['true', true],
  ])('refuses %s instead of a rule', (_case, rule) => {
    expect(refusal([rule])).toBe(`rules[0]: ${M.notObject}`);
  });

  it('names unknown fields as CF lists them', () => {
    expect(refusal([{ protocol: 'all', destination: '10.0.0.1', blork: 'busted', blark: 'also busted' }])).toBe(
      'rules[0]: unknown field(s): ["blork", "blark"]',
    );
  });

  it('lists the first few unknown fields, then a count', () => {
    const rule = { protocol: 'all', destination: '10.0.0.1', a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1 };
    expect(refusal([rule])).toBe('rules[0]: unknown field(s): ["a", "b", "c", "d", "e", …and 2 more]');
  });

  it('treats __proto__ from JSON as the unknown field it is', () => {
    const rules: unknown = JSON.parse('[{"protocol":"all","destination":"10.0.0.1","__proto__":{"ports":"80"}}]');
    expect(refusal(rules)).toBe('rules[0]: unknown field(s): ["__proto__"]');
  });

  it('reads only own fields, never inherited ones', () => {
    const rule: object = Object.assign(Object.create({ protocol: 'all' }), { destination: '10.0.0.1' });
    expect(refusal([rule])).toBe(`rules[0].protocol: ${M.protocol}`);
  });

  it('names every problem of every rule by index and field', () => {
    expect(refusal([{ protocol: 'blah' }, { 'not-a-field': true }, tcp({})[0]])).toBe(
      [
        `rules[0].protocol: ${M.protocol}`,
        `rules[0].destination: ${DESTINATION_MESSAGES.missing}`,
        'rules[1]: unknown field(s): ["not-a-field"]',
        `rules[1].protocol: ${M.protocol}`,
        `rules[1].destination: ${DESTINATION_MESSAGES.missing}`,
      ].join('; '),
    );
  });

  it('lists the first five problems, then a count of the others', () => {
    const rules = Array.from({ length: 20 }, () => ({ protocol: 'all', destination: '10.0.0.1', log: 'yes' }));
    expect(refusal(rules)).toBe(
      [...[0, 1, 2, 3, 4].map((index) => `rules[${index}].log: ${M.log}`), '…and 15 more'].join('; '),
    );
  });
});

describe('decodeSecurityGroupRules: accepted rules, as CF stores them', () => {
  it.each([
    ['tcp with one port', { protocol: 'tcp', destination: '10.10.10.0/24', ports: '8080' }],
    ['udp with a list', { protocol: 'udp', destination: '192.168.10.2', ports: '3000,8888' }],
    ['tcp with a range', { protocol: 'tcp', destination: '1.0.0.0-1.0.0.255', ports: '4000-5000' }],
    ['icmp with wildcards', { protocol: 'icmp', destination: '10.10.10.0/24', type: -1, code: -1 }],
    ['icmp with the bounds', { protocol: 'icmp', destination: '1.0.0.1-1.0.0.200', type: 0, code: 255 }],
    ['all', { protocol: 'all', destination: '0.0.0.0/0' }],
    ['log and description', { protocol: 'tcp', destination: '10.0.0.1', ports: '443', log: true, description: 'db' }],
    ['log false and an empty description', { protocol: 'all', destination: '10.0.0.1', log: false, description: '' }],
    ['log on icmp', { protocol: 'icmp', destination: '10.0.0.1', type: 8, code: 0, log: true }],
    [
      'a host-bits CIDR and spaced ports, as given',
      { protocol: 'tcp', destination: '10.0.0.5/24', ports: ' 80 , 443,' },
    ],
  ])('%s', (_case, rule) => {
    expect(decodeSecurityGroupRules([rule])).toEqual([rule]);
  });

  it("returns CF's key order and leaves absent keys absent", () => {
    const [rule] = decodeSecurityGroupRules([
      { description: 'd', log: true, code: 0, type: 8, destination: '10.0.0.1', protocol: 'icmp' },
    ]);
    expect(Object.keys(rule ?? {})).toEqual(['protocol', 'destination', 'type', 'code', 'log', 'description']);
    const [plain] = decodeSecurityGroupRules([{ destination: '10.0.0.1', protocol: 'all' }]);
    expect(Object.keys(plain ?? {})).toEqual(['protocol', 'destination']);
  });

  it('returns new objects, not the input', () => {
    const input = { protocol: 'all', destination: '10.0.0.1' };
    const [rule] = decodeSecurityGroupRules([input]);
    expect(rule).not.toBe(input);
  });
});

describe('decodeSecurityGroupRules: protocol', () => {
  it.each([
    ['an unknown protocol', 'arp'],
    ['a protocol in capitals', 'TCP'],
    ['a number', 4],
    ['null', null],
    ['an absent protocol', undefined],
  ])('refuses %s', (_case, protocol) => {
    expect(refusal([{ protocol, destination: '10.0.0.1' }])).toBe(`rules[0].protocol: ${M.protocol}`);
  });

  it('refuses icmpv6: IPv6 is not supported yet', () => {
    expect(refusal([{ protocol: 'icmpv6', destination: '10.0.0.1', type: -1, code: -1 }])).toBe(
      'rules[0].protocol: icmpv6 cannot be used: IPv6 is not supported yet',
    );
  });
});

describe('decodeSecurityGroupRules: destination', () => {
  it.each([
    ['absent', undefined, DESTINATION_MESSAGES.missing],
    ['not a string', 42, DESTINATION_MESSAGES.notString],
    ['with whitespace', ' 10.0.0.1', DESTINATION_MESSAGES.whitespace],
    ['zero-padded', '10.0.0.01', `${DESTINATION_MESSAGES.leadingZeros} (got "10.0.0.01")`],
    ['IPv6', '2001:db8::/32', 'IPv6 is not supported yet (got "2001:db8::/32")'],
    ['reversed', '10.0.0.9-10.0.0.1', `${DESTINATION_MESSAGES.reversedRange} (got "10.0.0.9-10.0.0.1")`],
  ])('names the problem of a destination %s', (_case, destination, text) => {
    expect(refusal([{ protocol: 'all', destination }])).toBe(`rules[0].destination: ${text}`);
  });

  it('accepts 6,000 entries and refuses 6,001', () => {
    const entries = (count: number) => Array.from({ length: count }, (_, index) => `10.0.${index >> 8}.${index & 255}`);
    expect(decodeSecurityGroupRules([{ protocol: 'all', destination: entries(6000).join(',') }])).toHaveLength(1);
    expect(refusal([{ protocol: 'all', destination: entries(6001).join(',') }])).toBe(
      `rules[0].destination: ${DESTINATION_MESSAGES.tooMany} (got 6,001)`,
    );
  });
  it('counts the problems of a huge list without listing them, and examines only 6,000 entries', () => {
    const destination = Array.from({ length: 100_000 }, () => 'a').join(',');
    const invalid = `rules[0].destination: ${DESTINATION_MESSAGES.invalid} (got "a")`;
    expect(refusal([{ protocol: 'all', destination }])).toBe(
      [
        `rules[0].destination: ${DESTINATION_MESSAGES.tooMany} (got 100,000)`,
        invalid,
        invalid,
        invalid,
        invalid,
        '…and 5,996 more',
      ].join('; '),
    );
  });
});

describe('decodeSecurityGroupRules and portRanges: ports', () => {
  it.each([
    ['one port', '443', [[443, 443]]],
    ['the lowest port', '1', [[1, 1]]],
    ['the highest port', '65535', [[65535, 65535]]],
    [
      'a list',
      '80,443',
      [
        [80, 80],
        [443, 443],
      ],
    ],
    [
      'a list, in its order, repeats kept',
      '8888,3000,8888',
      [
        [8888, 8888],
        [3000, 3000],
        [8888, 8888],
      ],
    ],
    ['a range', '8000-9000', [[8000, 9000]]],
    ['the widest range', '1-65535', [[1, 65535]]],
    ['the narrowest range', '1-2', [[1, 2]]],
    ['spaces around a port', ' 443 ', [[443, 443]]],
    [
      'spaces around list items',
      '80 , 443',
      [
        [80, 80],
        [443, 443],
      ],
    ],
    ['spaces around a range', ' 8000 - 9000 ', [[8000, 9000]]],
    ['tabs and newlines (ASCII whitespace)', '\t80\n', [[80, 80]]],
    ['leading zeros', '0080', [[80, 80]]],
    ['leading zeros in a range', '08000-09000', [[8000, 9000]]],
    ['a trailing comma (dropped, as Ruby splits)', '80,', [[80, 80]]],
    [
      'trailing commas',
      '80,443,,',
      [
        [80, 80],
        [443, 443],
      ],
    ],
  ])('accepts %s: %j', (_case, ports, ranges) => {
    const expected = ranges.map(([start, end]) => ({ start, end }));
    expect(portRanges(ports)).toEqual(expected);
    expect(decodeSecurityGroupRules(tcp({ ports }))).toEqual(tcp({ ports }));
    expect(decodeSecurityGroupRules([{ protocol: 'udp', destination: '10.0.0.1', ports }])).toHaveLength(1);
  });

  it.each([
    ['port 0', '0'],
    ['port 65536', '65536'],
    ['a huge port', '99999999999999999999'],
    ['a range from 0', '0-80'],
    ['a range past 65535', '80-65536'],
    ['an equal range', '5000-5000'],
    ['a reversed range', '6000-5000'],
    ['empty', ''],
    ['a space', ' '],
    ['a comma', ','],
    ['a leading comma', ',80'],
    ['an empty list item', '80,,443'],
    ['a space item', '80, ,443'],
    ['a list of ranges', '80-90,100'],
    ['two ranges', '80-90,100-110'],
    ['three range ends', '80-90-100'],
    ['no range start', '-80'],
    ['no range end', '80-'],
    ['two ports without a comma', '80 443'],
    ['a semicolon', '80;443'],
    ['a sign', '+80'],
    ['an exponent', '1e3'],
    ['a decimal', '80.0'],
    ['non-ASCII digits', '８０'],
    ['a no-break space', '\u00a080'],
    ['a word', 'https'],
  ])('refuses %s: %j', (_case, ports) => {
    expect(refusal(tcp({ ports }))).toBe(`rules[0].ports: ${M.portsInvalid} (got ${JSON.stringify(ports)})`);
    expect(() => portRanges(ports)).toThrow(RangeError);
  });

  it.each([
    ['a number', 443],
    ['an array', ['443']],
    ['false', false],
  ])('refuses ports that are %s', (_case, ports) => {
    expect(refusal(tcp({ ports }))).toBe(`rules[0].ports: ${M.portsInvalid}`);
  });

  it.each(['tcp', 'udp'])('requires ports for %s, absent or null', (protocol) => {
    expect(refusal([{ protocol, destination: '10.0.0.1' }])).toBe(`rules[0].ports: ${M.portsRequired}`);
    expect(refusal([{ protocol, destination: '10.0.0.1', ports: null }])).toBe(`rules[0].ports: ${M.portsRequired}`);
  });

  it.each([
    ['all', '80'],
    ['all', null],
    ['all', ''],
    ['icmp', '80'],
    ['icmp', null],
  ])('refuses ports on %s, even %j', (protocol, ports) => {
    const rule = { protocol, destination: '10.0.0.1', ports, ...(protocol === 'icmp' ? { type: 0, code: 0 } : {}) };
    expect(refusal([rule])).toBe(`rules[0].ports: ports are not allowed for protocols of type ${protocol}`);
  });

  it("keeps CF's wording", () => {
    expect(M.portsInvalid).toBe(
      'ports must be a valid single port, comma separated list of ports, or range or ports, formatted as a string',
    );
  });
});

describe('decodeSecurityGroupRules: icmp type and code', () => {
  it.each([-1, 0, 8, 255])('accepts %j for both', (value) => {
    expect(decodeSecurityGroupRules(icmp({ type: value, code: value }))).toEqual(icmp({ type: value, code: value }));
  });

  it.each([
    ['-2', -2],
    ['256', 256],
    ['a fraction', 1.5],
    ['a numeric string', '1'],
    ['a boolean', true],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('refuses %s, for type and for code', (_case, value) => {
    expect(refusal(icmp({ type: value }))).toBe(
      'rules[0].type: type must be an integer between -1 and 255 (inclusive)',
    );
    expect(refusal(icmp({ code: value }))).toBe(
      'rules[0].code: code must be an integer between -1 and 255 (inclusive)',
    );
  });

  it('requires both for icmp, absent or null', () => {
    const required = [
      'rules[0].type: type is required for protocols of type ICMP',
      'rules[0].code: code is required for protocols of type ICMP',
    ].join('; ');
    expect(refusal([{ protocol: 'icmp', destination: '10.10.10.0/24' }])).toBe(required);
    expect(refusal(icmp({ type: null, code: null }))).toBe(required);
  });

  it.each([
    ['tcp', 'type', 0],
    ['udp', 'code', 0],
    ['all', 'type', -1],
    ['all', 'code', null],
    ['tcp', 'type', 'anything'],
  ])("refuses them on %s (%s: %j), as CF's model does", (protocol, field, value) => {
    const rule = { protocol, destination: '10.0.0.1', ...(protocol === 'all' ? {} : { ports: '80' }), [field]: value };
    expect(refusal([rule])).toBe(`rules[0].${field}: ${field} is not allowed for protocols of type ${protocol}`);
  });
});

describe('decodeSecurityGroupRules: log and description', () => {
  it.each([
    ['a number', 42],
    ['a string', 'true'],
    ['null', null],
  ])('refuses a log that is %s', (_case, log) => {
    expect(refusal(tcp({ log }))).toBe(`rules[0].log: ${M.log}`);
  });

  it.each([
    ['a number', 42],
    ['false', false],
    ['null', null],
    ['an object', { text: 'x' }],
  ])('refuses a description that is %s', (_case, description) => {
    expect(refusal(tcp({ description }))).toBe(`rules[0].description: ${M.description}`);
  });
});

describe('destinationRanges, from the rules module', () => {
  it("is the addresses module's", () => {
    expect(destinationRanges('10.0.0.5/30,1.1.1.1')).toEqual([
      { start: '10.0.0.4', end: '10.0.0.7' },
      { start: '1.1.1.1', end: '1.1.1.1' },
    ]);
  });
});
