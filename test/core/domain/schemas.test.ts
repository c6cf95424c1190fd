import { describe, expect, it } from 'vitest';
import {
  createDestinationsBodySchema,
  createEgressPoliciesBodySchema,
  createEgressPoliciesBodySchemas,
  egressPolicyListSchema,
  MAX_ITEMS_PER_REQUEST,
  updateDestinationsBodySchema,
} from '../../../core/domain/schemas.js';
import { parseWith } from '../../../core/domain/validation.js';
import { validationMessage } from '../../helpers/validation-message.js';

const tcp = {
  name: 'oracle database',
  description: 'db for user accounts',
  ips: [{ start: '1.9.9.9', end: '1.9.9.20' }],
  ports: [{ start: 8000, end: 9000 }],
  protocol: 'tcp',
};

const errorOf = validationMessage;

describe('destination schemas', () => {
  it('accepts the CF document example unchanged', () => {
    const parsed = parseWith(createDestinationsBodySchema, { destinations: [tcp] });
    expect(parsed.destinations[0]).toEqual(tcp);
  });

  it('gives icmp destinations no ports and type/code -1 by default', () => {
    const parsed = parseWith(createDestinationsBodySchema, {
      destinations: [{ name: 'ping', ips: [{ start: '8.8.8.8', end: '8.8.8.8' }], protocol: 'icmp' }],
    });
    expect(parsed.destinations[0]).toMatchObject({ ports: [], icmp_type: -1, icmp_code: -1 });
  });

  it.each([
    [{ ...tcp, name: undefined }, 'destinations[0].name: is required'],
    [{ ...tcp, name: '  ' }, 'destinations[0].name: must not be empty'],
    [{ ...tcp, protocol: undefined }, 'destinations[0].protocol: is required'],
    [{ ...tcp, protocol: 'gre' }, 'destinations[0].protocol: must be one of tcp, udp, icmp'],
    [{ ...tcp, ips: undefined }, 'destinations[0].ips: is required'],
    [{ ...tcp, ips: [] }, 'destinations[0].ips: must hold at least one IP range'],
    [{ ...tcp, ips: [{ start: '1.2.3', end: '1.2.3.4' }] }, 'destinations[0].ips[0].start: must be an IPv4 address'],
    [{ ...tcp, ips: [{ start: '::1', end: '::1' }] }, 'destinations[0].ips[0].start: must be an IPv4 address'],
    [{ ...tcp, ips: [{ start: '1.2.3.04', end: '1.2.3.4' }] }, 'destinations[0].ips[0].start: must be an IPv4 address'],
    [
      { ...tcp, ips: [{ start: '1.2.3.5', end: '1.2.3.4' }] },
      'destinations[0].ips[0].start: must not be greater than end',
    ],
    [{ ...tcp, ports: [{ start: 0, end: 10 }] }, 'destinations[0].ports[0].start: must be between 1 and 65535'],
    [{ ...tcp, ports: [{ start: 1, end: 65536 }] }, 'destinations[0].ports[0].end: must be between 1 and 65535'],
    [{ ...tcp, ports: [{ start: 90, end: 80 }] }, 'destinations[0].ports[0].start: must not be greater than end'],
    [{ ...tcp, ports: [{ start: 1.5, end: 80 }] }, 'destinations[0].ports[0].start: must be an integer'],
    [{ ...tcp, ports: [{ start: '80', end: 80 }] }, 'destinations[0].ports[0].start: must be an integer'],
    [{ ...tcp, ports: undefined }, 'destinations[0].ports: is required for protocol tcp'],
    [{ ...tcp, protocol: 'icmp' }, 'destinations[0].ports: must be omitted for protocol icmp'],
    [{ ...tcp, icmp_type: 8 }, 'destinations[0].icmp_type: is only allowed for protocol icmp'],
    [
      { ...tcp, ports: undefined, protocol: 'icmp', icmp_type: 256 },
      'destinations[0].icmp_type: must be between -1 and 254',
    ],
    // iptables reads type 255 as "any type": it must not slip through as a narrow rule.
    [
      { ...tcp, ports: undefined, protocol: 'icmp', icmp_type: 255 },
      'destinations[0].icmp_type: must be between -1 and 254',
    ],
    [
      { ...tcp, ports: undefined, protocol: 'icmp', icmp_type: 3, icmp_code: 256 },
      'destinations[0].icmp_code: must be between -1 and 255',
    ],
    [{ ...tcp, ports: undefined, protocol: 'icmp', icmp_code: 1 }, 'destinations[0].icmp_code: needs an icmp_type'],
    [{ ...tcp, extra: '-j ACCEPT' }, 'destinations[0]: unknown field(s) "extra"'],
    [
      {
        ...tcp,
        ips: [
          { start: '1.2.3.4', end: '1.2.3.4' },
          { start: '1.2.3.5', end: '1.2.3.5' },
        ],
      },
      'at most 1 IP range',
    ],
  ])('refuses %j naming the field', (destination, message) => {
    expect(errorOf(createDestinationsBodySchema, { destinations: [destination] })).toContain(message);
  });

  it('refuses bodies that are not the documented shape', () => {
    expect(errorOf(createDestinationsBodySchema, [])).toBe('request body: must be a JSON object');
    expect(errorOf(createDestinationsBodySchema, { destinations: {} })).toBe('destinations: must be an array');
    expect(errorOf(createDestinationsBodySchema, { destinations: [] })).toContain('at least one');
  });

  it(`refuses more than ${MAX_ITEMS_PER_REQUEST} destinations per request, naming the limit`, () => {
    const many = Array.from({ length: MAX_ITEMS_PER_REQUEST + 1 }, (_, i) => ({ ...tcp, name: `d${i}` }));
    expect(errorOf(createDestinationsBodySchema, { destinations: many })).toContain(
      `at most ${MAX_ITEMS_PER_REQUEST} destinations per request`,
    );
  });

  describe('names', () => {
    const createdName = (name: string) =>
      parseWith(createDestinationsBodySchema, { destinations: [{ ...tcp, name }] }).destinations[0]?.name;
    const updatedName = (name: string) =>
      parseWith(updateDestinationsBodySchema, { destinations: [{ ...tcp, id: 'd1', name }] }).destinations[0]?.name;

    it.each([
      ['an unpaired high surrogate', 'lone\ud800', 'an unpaired surrogate (U+D800)'],
      ['an unpaired low surrogate', '\udc00x', 'an unpaired surrogate (U+DC00)'],
      ['a C1 control', 'a\u0085b', 'C1 control characters (U+0085)'],
      ['the last C1 control', 'a\u009fb', 'C1 control characters (U+009F)'],
      ['a zero-width space', 'My\u200bSQL', 'zero-width or bidirectional formatting characters (U+200B)'],
      ['a right-to-left mark', 'x\u200fy', 'zero-width or bidirectional formatting characters (U+200F)'],
      ['a bidi embedding', '\u202ax', 'zero-width or bidirectional formatting characters (U+202A)'],
      ['a bidi override', 'x\u202egnp.exe', 'zero-width or bidirectional formatting characters (U+202E)'],
      ['a bidi isolate', 'x\u2066y', 'zero-width or bidirectional formatting characters (U+2066)'],
      ['a pop isolate', 'x\u2069', 'zero-width or bidirectional formatting characters (U+2069)'],
      // Trimming would drop it at the ends: it is refused wherever it is.
      ['a byte order mark', '\ufeffMySQL', 'zero-width or bidirectional formatting characters (U+FEFF)'],
    ])('refuses a name with %s, on create and update, naming the field', (_label, name, problem) => {
      expect(errorOf(createDestinationsBodySchema, { destinations: [{ ...tcp, name }] })).toBe(
        `destinations[0].name: must not contain ${problem}`,
      );
      expect(errorOf(updateDestinationsBodySchema, { destinations: [{ ...tcp, id: 'd1', name }] })).toBe(
        `destinations[0].name: must not contain ${problem}`,
      );
    });

    it('keeps names with other characters, a surrogate pair and joiners of emoji included', () => {
      for (const name of ['MySQL', 'Ünïcödé ✓', 'db \u{1F600}', 'a\u00a0b', 'Ελληνικά', '数据库']) {
        expect(createdName(name)).toBe(name);
      }
    });

    it('stores names in NFC, so two spellings of one name are one name', () => {
      const decomposed = 'Cafe\u0301'; // e + combining acute accent
      expect(decomposed).not.toBe('Café');
      expect(createdName(decomposed)).toBe('Caf\u00e9');
      expect(updatedName(`  ${decomposed} `)).toBe('Caf\u00e9');
      expect(createdName('Caf\u00e9')).toBe('Caf\u00e9');
    });

    it('keeps reading documents whose names were stored before these rules (the agent reads them)', () => {
      const destination = { id: 'd1', ...tcp, name: 'My\u200bSQL\u0085' };
      const list = {
        total_egress_policies: 1,
        egress_policies: [{ id: 'p1', source: { type: 'app', id: 'a' }, destination }],
      };
      expect(parseWith(egressPolicyListSchema, list).egress_policies[0]?.destination.name).toBe('My\u200bSQL\u0085');
    });
  });

  it('requires an id on update', () => {
    expect(errorOf(updateDestinationsBodySchema, { destinations: [tcp] })).toContain('destinations[0].id: is required');
  });
});

describe('egress policy schemas', () => {
  const APP_GUID = '887757be-5eda-48ce-b427-79dcc0705e91';
  const policyWith = (id: string) => ({ egress_policies: [{ source: { id }, destination: { id: 'dest-guid' } }] });

  it('defaults source.type to app', () => {
    const parsed = parseWith(createEgressPoliciesBodySchema, policyWith(APP_GUID));
    expect(parsed.egress_policies[0]?.source).toEqual({ type: 'app', id: APP_GUID });
  });

  it('takes GUID source ids by default, in lower case as CF prints them', () => {
    expect(createEgressPoliciesBodySchema).toBe(createEgressPoliciesBodySchemas.guid);
    const parsed = parseWith(createEgressPoliciesBodySchema, policyWith(APP_GUID.toUpperCase()));
    expect(parsed.egress_policies[0]?.source.id).toBe(APP_GUID);
  });

  it.each([
    'backend',
    'app-guid-1',
    `${APP_GUID}x`,
    ` ${APP_GUID}`,
    APP_GUID.replaceAll('-', ''),
    '887757be-5eda-48ce-b427-79dcc0705e9g',
    '{887757be-5eda-48ce-b427-79dcc0705e91}',
  ])('refuses the source id %j by default, naming the field', (id) => {
    expect(errorOf(createEgressPoliciesBodySchema, policyWith(id))).toBe(
      'egress_policies[0].source.id: must be a GUID (8-4-4-4-12 hexadecimal digits, as `cf app <name> --guid` prints it)',
    );
  });

  it('takes any identifier, as given, when the deployment accepts identifiers', () => {
    const identifier = createEgressPoliciesBodySchemas.identifier;
    expect(parseWith(identifier, policyWith('backend')).egress_policies[0]?.source.id).toBe('backend');
    expect(parseWith(identifier, policyWith(APP_GUID.toUpperCase())).egress_policies[0]?.source.id).toBe(
      APP_GUID.toUpperCase(),
    );
    expect(errorOf(identifier, policyWith('x;rm -rf'))).toContain(
      'egress_policies[0].source.id: must be 1-128 characters',
    );
  });

  it('reads non-GUID sources in the list document whatever the setting: the agent keeps working', () => {
    const list = {
      total_egress_policies: 1,
      egress_policies: [{ id: 'p1', source: { type: 'app', id: 'backend' }, destination: { id: 'd1', ...tcp } }],
    };
    expect(parseWith(egressPolicyListSchema, list).egress_policies[0]?.source).toEqual({ type: 'app', id: 'backend' });
  });

  it.each([
    [{ source: {}, destination: { id: 'd' } }, 'egress_policies[0].source.id: is required'],
    [
      { source: { type: 'org', id: 'x' }, destination: { id: 'd' } },
      'egress_policies[0].source.type: must be one of app, space',
    ],
    [{ source: { id: 'x' } }, 'egress_policies[0].destination: is required'],
    [{ source: { id: 'x;rm -rf' }, destination: { id: 'd' } }, 'egress_policies[0].source.id: must be a GUID'],
  ])('refuses %j naming the field', (policy, message) => {
    expect(errorOf(createEgressPoliciesBodySchema, { egress_policies: [policy] })).toContain(message);
  });

  it('reads the list document the API returns and checks its total', () => {
    const destination = { id: 'd1', ...tcp };
    const list = {
      total_egress_policies: 1,
      egress_policies: [{ id: 'p1', source: { type: 'space', id: 's' }, destination }],
    };
    expect(parseWith(egressPolicyListSchema, list).egress_policies[0]?.destination.ports).toEqual(tcp.ports);
    expect(errorOf(egressPolicyListSchema, { ...list, total_egress_policies: 2 })).toContain('total_egress_policies');
  });

  it('reads a description stored before the API refused hidden characters in it', () => {
    const destination = { id: 'd1', ...tcp, description: 'stored \u202e before' };
    const list = {
      total_egress_policies: 1,
      egress_policies: [{ id: 'p1', source: { type: 'space', id: 's' }, destination }],
    };
    expect(parseWith(egressPolicyListSchema, list).egress_policies[0]?.destination.description).toBe(
      'stored \u202e before',
    );
  });
});
