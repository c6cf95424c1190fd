// Explaining requests through the cell proxy: which destination and route let it through, or what
// came close and why not. (The netns test cell-proxy.netns.test.ts checks these verdicts against the
// real proxy.)
import { describe, expect, it } from 'vitest';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';
import { explainLayer7, type Layer7Query } from '../../../core/plan/explain-layer7.js';

const api: Destination = {
  id: 'd-api',
  name: 'api',
  ips: [],
  hosts: ['api.example.com'],
  ports: [{ start: 80, end: 80 }],
  protocol: 'http',
  routes: [
    { methods: ['GET'], path_regex: '/get' },
    { path_regex: '/status/.*', headers: { 'x-env': 'prod' } },
  ],
};
const any: Destination = {
  id: 'd-any',
  name: 'any',
  ips: [],
  hosts: ['*.example.org'],
  ports: [{ start: 8080, end: 8090 }],
  protocol: 'http',
};
const tls: Destination = {
  id: 'd-tls',
  name: 'tls',
  ips: [],
  hosts: ['secure.example.com'],
  ports: [{ start: 443, end: 443 }],
  protocol: 'https',
};

const policies: EgressPolicy[] = [
  { id: 'p-api', source: { type: 'app', id: 'app-a' }, destination: api },
  { id: 'p-any', source: { type: 'space', id: 'space-1' }, destination: any },
  { id: 'p-tls', source: { type: 'app', id: 'app-a' }, destination: tls },
  // Another app's: never this app's.
  { id: 'p-b', source: { type: 'app', id: 'app-b' }, destination: { ...api, id: 'd-b', hosts: ['b.example.com'] } },
];
const state = { version: 9, policies, groups: [] };
const ask = (query: Partial<Layer7Query>) =>
  explainLayer7(
    { app: 'app-a', space: 'space-1', workload: 'app', protocol: 'http', host: 'api.example.com', port: 80, ...query },
    state,
  );

describe('explainLayer7', () => {
  it('names the destination, the route and the policy that let a request through', () => {
    const result = ask({ method: 'GET', path: '/get' });
    expect(result).toMatchObject({
      allowed: true,
      version: 9,
      reasons: [{ type: 'layer7_destination', destination: { id: 'd-api', name: 'api' }, route_index: 0 }],
    });
    expect(result.reasons[0]?.type === 'layer7_destination' && result.reasons[0].policies.map((p) => p.id)).toEqual([
      'p-api',
    ]);
    expect(result.reasons[0]?.description).toContain("the address the cell's resolver gives");
    expect(ask({ path: '/status/200', method: 'DELETE', headers: { 'x-env': 'prod' } })).toMatchObject({
      allowed: true,
      reasons: [{ route_index: 1 }],
    });
    expect(ask({ host: 'API.Example.com', path: '/get' }).allowed).toBe(true);
  });

  it('says why each route missed: method, whole path, odd path, header', () => {
    const miss = (query: Partial<Layer7Query>) => {
      const result = ask(query);
      expect(result.allowed).toBe(false);
      const [reason] = result.reasons;
      return reason?.type === 'layer7_refused' ? reason.near : [];
    };
    expect(miss({ method: 'POST', path: '/get' })).toEqual([
      {
        destination: 'd-api',
        why: 'route 0: method POST is not one of GET; route 1: path /get does not match /status/.* (the whole path)',
      },
    ]);
    expect(miss({ path: '/getter' })[0]?.why).toContain('route 0: path /getter does not match /get (the whole path)');
    expect(miss({ path: '/status/../admin', headers: { 'x-env': 'prod' } })[0]?.why).toContain(
      'route 1: path /status/../admin has a dot segment',
    );
    expect(miss({ path: '/status/200', headers: { 'x-env': 'dev' } })[0]?.why).toContain(
      'route 1: header x-env must be "prod", got "dev"',
    );
    expect(miss({ host: 'other.example.com' })).toEqual([
      { destination: 'd-api', why: 'its hosts (api.example.com) do not name other.example.com' },
    ]);
  });

  it('matches a wildcard by exactly one label, on any port of the range, for a space policy', () => {
    expect(ask({ host: 'x.example.org', port: 8085 }).allowed).toBe(true);
    expect(ask({ host: 'x.y.example.org', port: 8085 }).allowed).toBe(false);
    expect(ask({ host: 'x.example.org', port: 8085, space: 'space-2' }).allowed).toBe(false);
  });

  it('https by SNI only, and says when a port is not sent to the proxy as asked', () => {
    expect(ask({ protocol: 'https', host: 'secure.example.com', port: 443 }).allowed).toBe(true);
    expect(ask({ protocol: 'https', host: 'api.example.com', port: 443 }).allowed).toBe(false);
    const wrong = ask({ protocol: 'https', host: 'api.example.com', port: 80 });
    expect(wrong).toMatchObject({ allowed: false, reasons: [{ type: 'layer7_refused' }] });
    expect(wrong.reasons[0]?.description).toBe(
      'port 80 of this container goes to the proxy as http (destination d-api), not https',
    );
    const none = ask({ port: 9999 });
    expect(none.reasons[0]?.description).toContain('the connection is not sent to the proxy');
    // Another app's destination is not this one's.
    expect(ask({ host: 'b.example.com', path: '/get' }).allowed).toBe(false);
    expect(ask({ app: 'app-b', host: 'b.example.com', path: '/get' }).allowed).toBe(true);
  });

  it('lets policies for every app or one lifecycle through, for that lifecycle only, and names them', () => {
    const other: Destination = { ...tls, id: 'd-other', name: 'other', hosts: ['other.example.com'] };
    const withLifecycles = {
      version: 10,
      policies: [
        { id: 'p-every', source: { type: 'default', id: '' }, destination: other, app_lifecycle: 'staging' },
        { id: 'p-run', source: { type: 'app', id: 'app-a' }, destination: other, app_lifecycle: 'running' },
      ] satisfies EgressPolicy[],
      groups: [],
    };
    const askOther = (workload: Layer7Query['workload'], app = 'app-a') =>
      explainLayer7(
        { app, space: 'space-1', workload, protocol: 'https', host: 'other.example.com', port: 443 },
        withLifecycles,
      );
    const grantedBy = (result: ReturnType<typeof explainLayer7>) =>
      result.reasons[0]?.type === 'layer7_destination' ? result.reasons[0].policies.map((p) => p.id) : [];
    expect(grantedBy(askOther('app'))).toEqual(['p-run']);
    expect(grantedBy(askOther('staging'))).toEqual(['p-every']);
    expect(grantedBy(askOther('staging', 'app-z'))).toEqual(['p-every']);
    expect(askOther('app', 'app-z')).toMatchObject({ allowed: false, reasons: [{ type: 'layer7_refused' }] });
  });

  it('says when a port is given both as http and https: both destinations are withheld from the container', () => {
    const tlsOn80: Destination = { ...tls, id: 'd-tls80', name: 'tls80', ports: [{ start: 80, end: 80 }] };
    const conflicted = {
      version: 11,
      policies: [
        ...policies,
        { id: 'p-80', source: { type: 'space', id: 'space-1' }, destination: tlsOn80 } satisfies EgressPolicy,
      ],
      groups: [],
    };
    const result = explainLayer7(
      {
        app: 'app-a',
        space: 'space-1',
        workload: 'app',
        protocol: 'http',
        host: 'api.example.com',
        port: 80,
        path: '/get',
      },
      conflicted,
    );
    expect(result).toMatchObject({ allowed: false, reasons: [{ type: 'layer7_refused', near: [] }] });
    expect(result.reasons[0]?.description).toBe(
      "this container's policies give port 80 both as http (destination d-api) and as https (destination d-tls80); its connections to a port go to one listener, so cells withhold both destinations from it, on every port of theirs, until the policies change",
    );
    // Another app of the space has only the https one there.
    expect(
      explainLayer7(
        { app: 'app-z', space: 'space-1', workload: 'app', protocol: 'https', host: 'secure.example.com', port: 80 },
        conflicted,
      ).allowed,
    ).toBe(true);
  });
});
