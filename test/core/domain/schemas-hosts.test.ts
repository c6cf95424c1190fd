// Destinations matched by name (issue 15 item 1): `hosts`, protocols http and https, and routes.
// Every rule refused on create and update, naming the field; the canonical form stored.
import { describe, expect, it } from 'vitest';
import { MAX_ROUTE_HEADERS, MAX_ROUTES } from '../../../core/domain/http-routes.js';
import { MAX_HOSTS } from '../../../core/domain/model-primitives.js';
import {
  createDestinationsBodySchema,
  destinationDocumentSchema,
  updateDestinationsBodySchema,
} from '../../../core/domain/schemas.js';
import { parseWith } from '../../../core/domain/validation.js';
import { validationMessage } from '../../helpers/validation-message.js';

const ports = [{ start: 443, end: 443 }];
const ips = [{ start: '198.51.100.7', end: '198.51.100.7' }];
const https = { name: 'api', hosts: ['api.example.com'], ports, protocol: 'https' };
const http = { name: 'httpbin', hosts: ['httpbin.org'], ports: [{ start: 80, end: 80 }], protocol: 'http' };
const tcpByName = { name: 'db', hosts: ['db.example.com'], ports: [{ start: 5432, end: 5432 }], protocol: 'tcp' };

const errorOf = (body: unknown, schema = createDestinationsBodySchema): string => validationMessage(schema, body);

const created = (destination: unknown) =>
  parseWith(createDestinationsBodySchema, { destinations: [destination] }).destinations[0];

describe('destinations with hosts', () => {
  it('stores names in lower case, ips as [] when there are none, and no empty hosts or routes', () => {
    expect(created({ ...https, hosts: ['API.Example.com', '*.Example.org'] })).toEqual({
      name: 'api',
      ips: [],
      hosts: ['api.example.com', '*.example.org'],
      ports,
      protocol: 'https',
    });
    expect(created({ ...tcpByName, ips, hosts: [] })).toEqual({ ...tcpByName, ips, hosts: undefined });
    expect(Object.keys(created({ ...tcpByName, ips, hosts: [] }) ?? {})).not.toContain('hosts');
    expect(Object.keys(created({ ...http, routes: [] }) ?? {})).not.toContain('routes');
  });

  it('takes hosts beside ips on tcp and udp, exact names only', () => {
    expect(created({ ...tcpByName, ips })).toMatchObject({ ips, hosts: ['db.example.com'] });
    expect(created({ ...tcpByName, protocol: 'udp', ports: [{ start: 53, end: 53 }] })).toMatchObject({
      ips: [],
      protocol: 'udp',
    });
  });

  it('takes routes on http: methods, an anchored path regex, exact headers', () => {
    const routes = [
      { methods: ['GET', 'HEAD'], path_regex: '^/status/[0-9]+$', headers: { 'x-api-key': 'a b' } },
      { path_regex: '/get' },
      {},
    ];
    expect(created({ ...http, routes })).toMatchObject({ routes });
  });

  const refused: [string, unknown, string][] = [
    ['no ips and no hosts', { ...tcpByName, hosts: undefined }, 'destinations[0].ips: is required'],
    [
      'empty ips and no hosts',
      { ...tcpByName, hosts: [], ips: [] },
      'destinations[0].ips: must hold at least one IP range',
    ],
    [
      'https without hosts',
      { ...https, hosts: undefined },
      'destinations[0].hosts: is required for protocol https: one or more host names',
    ],
    [
      'http with empty hosts',
      { ...http, hosts: [] },
      'destinations[0].hosts: is required for protocol http: one or more host names',
    ],
    [
      'https with ips',
      { ...https, ips },
      'destinations[0].ips: must be omitted for protocol https: it is matched by host name',
    ],
    [
      'http without ports',
      { ...http, ports: undefined },
      'destinations[0].ports: is required for protocol http: one port range',
    ],
    [
      'https with icmp fields',
      { ...https, icmp_type: 8 },
      'destinations[0].icmp_type: is only allowed for protocol icmp',
    ],
    [
      'icmp with hosts',
      { name: 'p', ips, hosts: ['a.example.com'], protocol: 'icmp' },
      'destinations[0].hosts: is only allowed for protocols tcp, udp, http and https',
    ],
    [
      'a wildcard on tcp',
      { ...tcpByName, hosts: ['*.example.com'] },
      'destinations[0].hosts[0]: may be a wildcard only for protocols http and https (a name is resolved, a pattern cannot be)',
    ],
    [
      'a wildcard on udp',
      { ...tcpByName, protocol: 'udp', hosts: ['db.example.com', '*.example.com'] },
      'destinations[0].hosts[1]: may be a wildcard only for protocols http and https',
    ],
    [
      'a repeated host',
      { ...https, hosts: ['a.example.com', 'A.example.com'] },
      'destinations[0].hosts[1]: repeats "a.example.com"',
    ],
    [
      'an IP literal as a name',
      { ...https, hosts: ['198.51.100.7'] },
      'destinations[0].hosts[0]: must not be an IP address',
    ],
    [
      'a name of one label',
      { ...https, hosts: ['localhost'] },
      'destinations[0].hosts[0]: must have at least two labels',
    ],
    [
      'a name with a root dot',
      { ...https, hosts: ['example.com.'] },
      'destinations[0].hosts[0]: must not start or end with "."',
    ],
    ['a name that is not a string', { ...https, hosts: [7] }, 'destinations[0].hosts[0]: must be a host name string'],
    [
      'hosts that are not an array',
      { ...https, hosts: 'api.example.com' },
      'destinations[0].hosts: must be an array of host names',
    ],
    [
      'too many hosts',
      { ...https, hosts: Array.from({ length: MAX_HOSTS + 1 }, (_, i) => `h${i}.example.com`) },
      `destinations[0].hosts: must hold at most ${MAX_HOSTS} host names`,
    ],
    ['routes on https', { ...https, routes: [{}] }, 'destinations[0].routes: is only allowed for protocol http'],
    [
      'routes on tcp',
      { ...tcpByName, routes: [{ methods: ['GET'] }] },
      'destinations[0].routes: is only allowed for protocol http',
    ],
    [
      'too many routes',
      { ...http, routes: Array.from({ length: MAX_ROUTES + 1 }, () => ({})) },
      `destinations[0].routes: must hold at most ${MAX_ROUTES} routes`,
    ],
    [
      'a route with an unknown field',
      { ...http, routes: [{ path: '/get' }] },
      'destinations[0].routes[0]: unknown field(s) "path"',
    ],
    ['a route that is not an object', { ...http, routes: ['/get'] }, 'destinations[0].routes[0]: must be an object'],
    [
      'an unknown method',
      { ...http, routes: [{ methods: ['GET', 'get'] }] },
      'destinations[0].routes[0].methods[1]: must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH',
    ],
    [
      'no methods',
      { ...http, routes: [{ methods: [] }] },
      'destinations[0].routes[0].methods: must hold at least one method (omit it to match any)',
    ],
    [
      'a repeated method',
      { ...http, routes: [{ methods: ['PUT', 'PUT'] }] },
      'destinations[0].routes[0].methods[1]: repeats PUT',
    ],
    [
      'a path regex that is not anchored at /',
      { ...http, routes: [{ path_regex: '.*' }] },
      'destinations[0].routes[0].path_regex: must start with "/" or "^/"',
    ],
    [
      'a nested quantifier',
      { ...http, routes: [{ path_regex: '/(a+)+$' }] },
      'destinations[0].routes[0].path_regex: must not repeat a group that holds a quantifier',
    ],
    [
      'a backreference',
      { ...http, routes: [{ path_regex: '/(a)\\1' }] },
      'destinations[0].routes[0].path_regex: must not hold "\\" (no escapes',
    ],
    [
      'a lookahead',
      { ...http, routes: [{ path_regex: '/(?!admin)' }] },
      'destinations[0].routes[0].path_regex: must not hold "(?"',
    ],
    [
      'a long path regex',
      { ...http, routes: [{ path_regex: `/${'a'.repeat(256)}` }] },
      'destinations[0].routes[0].path_regex: must be at most 256 characters',
    ],
    [
      'no headers',
      { ...http, routes: [{ headers: {} }] },
      'destinations[0].routes[0].headers: must name at least one header (omit it to match any)',
    ],
    [
      'too many headers',
      {
        ...http,
        routes: [
          { headers: Object.fromEntries(Array.from({ length: MAX_ROUTE_HEADERS + 1 }, (_, i) => [`x-h${i}`, 'v'])) },
        ],
      },
      `destinations[0].routes[0].headers: must name at most ${MAX_ROUTE_HEADERS} headers`,
    ],
    [
      'an upper-case header name',
      { ...http, routes: [{ headers: { 'X-Key': 'v' } }] },
      'destinations[0].routes[0].headers.X-Key: name must be in lower case',
    ],
    [
      'the Host header',
      { ...http, routes: [{ headers: { host: 'evil.example' } }] },
      'destinations[0].routes[0].headers.host: name is not a header a route may match',
    ],
    [
      'a hop-by-hop header',
      { ...http, routes: [{ headers: { 'transfer-encoding': 'chunked' } }] },
      'destinations[0].routes[0].headers.transfer-encoding: name is not a header a route may match',
    ],
    [
      'a header value with a line break',
      { ...http, routes: [{ headers: { 'x-key': 'a\r\nhost: b' } }] },
      'destinations[0].routes[0].headers.x-key: must be printable ASCII',
    ],
    [
      'a header value with a quote',
      { ...http, routes: [{ headers: { 'x-key': 'a"b' } }] },
      'destinations[0].routes[0].headers.x-key: must not hold "\\""',
    ],
    [
      'a header value with #',
      { ...http, routes: [{ headers: { 'x-key': 'a#b' } }] },
      'destinations[0].routes[0].headers.x-key: must not hold "#"',
    ],
    [
      'a header value that is not a string',
      { ...http, routes: [{ headers: { 'x-key': 1 } }] },
      'destinations[0].routes[0].headers.x-key: must be a string',
    ],
    [
      'a long header value',
      { ...http, routes: [{ headers: { 'x-key': 'v'.repeat(257) } }] },
      'destinations[0].routes[0].headers.x-key: must be at most 256 characters',
    ],
    [
      'an unknown protocol',
      { ...http, protocol: 'grpc' },
      'destinations[0].protocol: must be one of tcp, udp, icmp, http, https',
    ],
  ];

  it.each(refused)('refuses %s, on create and update, naming the field', (_label, destination, message) => {
    expect(errorOf({ destinations: [destination] })).toContain(message);
    expect(
      errorOf({ destinations: [{ id: 'd1', ...(destination as object) }] }, updateDestinationsBodySchema),
    ).toContain(message);
  });

  it('refuses a __proto__ header, which zod would leave out of the record (a condition dropped: a wider route)', () => {
    for (const value of ['"v"', '{"y": "1"}']) {
      const body = JSON.parse(
        `{"destinations": [{"name": "x", "hosts": ["a.example.com"], "ports": [{"start": 80, "end": 80}], "protocol": "http", "routes": [{"headers": {"x-a": "1", "__proto__": ${value}}}]}]}`,
      );
      expect(errorOf(body)).toBe(
        'destinations[0].routes[0].headers.__proto__: name must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit',
      );
    }
  });

  it('refuses a whole bulk request for one bad destination among good ones', () => {
    expect(() =>
      parseWith(createDestinationsBodySchema, { destinations: [https, { ...https, name: 'b', hosts: ['x'] }] }),
    ).toThrow(/destinations\[1\]\.hosts\[0\]/);
  });
});

describe('destination documents with hosts (what the agent reads)', () => {
  const document = { id: 'd1', ...https, ips: [] };

  it('reads what the API stores', () => {
    expect(parseWith(destinationDocumentSchema, document)).toEqual({ ...document, ips: [] });
    const stored = { id: 'd2', ...http, ips: [], routes: [{ methods: ['GET'], path_regex: '/get' }] };
    expect(parseWith(destinationDocumentSchema, stored)).toEqual(stored);
  });

  it('refuses names that are not in their stored form, and every rule the API checks', () => {
    expect(() => parseWith(destinationDocumentSchema, { ...document, hosts: ['API.example.com'] })).toThrow(
      'hosts[0]: must be in lower case',
    );
    expect(() => parseWith(destinationDocumentSchema, { ...document, hosts: ['a b.example.com'] })).toThrow(
      /hosts\[0\]/,
    );
    expect(() => parseWith(destinationDocumentSchema, { ...document, ips })).toThrow(
      'ips: must be omitted for protocol https',
    );
    expect(() =>
      parseWith(destinationDocumentSchema, { ...document, protocol: 'http', routes: [{ path_regex: '/(a*)*' }] }),
    ).toThrow('routes[0].path_regex');
  });
});
