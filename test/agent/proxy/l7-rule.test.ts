// The proxy's input at its trust boundary: every field checked, injection attempts refused with a
// message naming the field, and the checks across destinations.
import { describe, expect, it } from 'vitest';
import { type L7Rule, parseL7Rules } from '../../../agent/proxy/l7-rule.js';
import { ValidationError } from '../../../core/domain/errors.js';

const web: L7Rule = {
  id: 'web-1',
  protocol: 'http',
  hosts: ['httpbin.org', '*.example.com'],
  ports: [{ start: 80, end: 80 }],
  routes: [{ methods: ['GET'], path_regex: '/get', headers: { 'x-env': 'prod' } }],
  sources: ['10.255.1.2'],
};
const tls: L7Rule = {
  id: 'tls-1',
  protocol: 'https',
  hosts: ['httpbin.org'],
  ports: [{ start: 443, end: 443 }],
  sources: ['10.255.1.2'],
};

/** parseL7Rules of `web` changed by `change`, expecting a refusal whose message matches `reason`. */
const refused = (change: Record<string, unknown>, reason: RegExp) =>
  expect(() => parseL7Rules([{ ...web, ...change }])).toThrow(reason);

describe('parseL7Rules', () => {
  it('takes http and https destinations as given', () => {
    expect(parseL7Rules([web, tls])).toEqual([web, tls]);
    expect(parseL7Rules([])).toEqual([]);
  });

  it('names the field of each problem', () => {
    expect(() => parseL7Rules([{ ...web, hosts: ['a b'] }])).toThrow(ValidationError);
    expect(() => parseL7Rules([{ ...web, hosts: ['a b'] }])).toThrow(
      /^l7 rules\[0\]\.hosts\[0\]: label "a b" may hold only/,
    );
    expect(() => parseL7Rules({})).toThrow(/l7 rules/);
  });

  it('refuses ids, hosts and sources that could carry configuration', () => {
    for (const id of ['a b', 'a)', 'a,b', 'a\nb', '', 'a#', "a'", 'x'.repeat(129)]) refused({ id }, /id/);
    for (const host of ['a.com\nfrontend x', 'a.com #x', "a'.com", 'a.com -f', '-f', 'a.com)', 'a.com,b.com']) {
      refused({ hosts: [host] }, /hosts\[0\]/);
    }
    for (const source of ['10.0.0.1 10.0.0.2', '10.0.0.1/32', '10.0.0.01', 'a', '10.0.0.1\n', '-f']) {
      refused({ sources: [source] }, /sources\[0\]: must be an IPv4 address/);
    }
  });

  it('refuses bad ports, protocols and empty lists', () => {
    refused({ ports: [{ start: 0, end: 1 }] }, /ports\[0\]\.start/);
    refused({ ports: [{ start: 80, end: 65536 }] }, /ports\[0\]\.end/);
    refused({ ports: [{ start: 81, end: 80 }] }, /start must not be greater than end/);
    refused({ ports: [{ start: 80.5, end: 81 }] }, /whole number/);
    refused({ ports: [] }, /at least one range/);
    refused({ hosts: [] }, /at least one host/);
    refused({ protocol: 'tcp' }, /http or https/);
    refused({ extra: 1 }, /extra/);
  });

  it('refuses bad routes: methods, regexes, headers', () => {
    refused({ routes: [{ methods: ['get'] }] }, /methods\[0\]: must be one of GET/);
    refused({ routes: [{ methods: ['GET POST'] }] }, /methods\[0\]/);
    refused({ routes: [{ methods: [] }] }, /must not be empty/);
    refused({ routes: [{ path_regex: "/a' || true '" }] }, /path_regex/);
    refused({ routes: [{ path_regex: '/(a+)+$' }] }, /path_regex: must not repeat a group/);
    refused({ routes: [{ path_regex: `/${'a'.repeat(300)}` }] }, /path_regex: must be at most 256/);
    refused({ routes: [{ headers: { 'x env': 'a' } }] }, /headers/);
    refused({ routes: [{ headers: { 'x.env': 'a' } }] }, /must be 1 or more of a-z/);
    refused({ routes: [{ headers: { host: 'a' } }] }, /is not a header a route may match/);
    refused({ routes: [{ headers: { 'transfer-encoding': 'chunked' } }] }, /is not a header a route may match/);
    refused({ routes: [{ headers: { 'x-a': 'a', 'X-A': 'b' } }] }, /lower case/);
    for (const value of ["a'b", 'a"b', 'a\\b', 'a#b', 'a$b', ' a', 'a ', 'a\nb', 'a\rb', '', 'é', 'x'.repeat(257)]) {
      refused({ routes: [{ headers: { 'x-a': value } }] }, /headers\.x-a/);
    }
    refused({ routes: Array.from({ length: 33 }, () => ({})) }, /at most 32 routes/);
    refused(
      { routes: [{ headers: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`x-${i}`, 'v'])) }] },
      /at most 16/,
    );
  });

  it('allows routes only on http', () => {
    expect(() => parseL7Rules([{ ...tls, routes: [{ path_regex: '/a' }] }])).toThrow(
      /only http destinations have routes/,
    );
    expect(parseL7Rules([{ ...tls, routes: [] }])).toHaveLength(1);
  });

  it('refuses an id twice, and a container reaching one port as http and https', () => {
    expect(() => parseL7Rules([web, { ...web, hosts: ['b.com'] }])).toThrow(/id "web-1" is listed twice/);
    const clash = { ...tls, ports: [{ start: 1, end: 80 }] };
    expect(() => parseL7Rules([web, clash])).toThrow(/10\.255\.1\.2 would reach a port both as http and as https/);
    expect(parseL7Rules([web, { ...clash, sources: ['10.255.1.3'] }])).toHaveLength(2);
    expect(parseL7Rules([web, { ...tls, ports: [{ start: 81, end: 443 }] }])).toHaveLength(2);
  });
});
