// Destinations matched by name travel whole through snapshots and source shards (what cells read),
// and classic ones gain no key.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  assertValidSnapshot,
  buildSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  sha256,
  snapshotToPolicyList,
} from '../../../core/domain/snapshot.js';
import { mergeShards, splitSnapshot } from '../../../core/domain/source-shards.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';

const https: Destination = {
  id: 'd-api',
  name: 'api',
  ips: [],
  hosts: ['api.example.com', '*.example.org'],
  ports: [{ start: 443, end: 443 }],
  protocol: 'https',
};
const http: Destination = {
  id: 'd-httpbin',
  name: 'httpbin',
  ips: [],
  hosts: ['httpbin.org'],
  ports: [{ start: 80, end: 80 }],
  protocol: 'http',
  routes: [{ methods: ['GET', 'HEAD'], path_regex: '^/status/[0-9]+$', headers: { 'x-api-key': 'k 1' } }, {}],
};
const mixed: Destination = {
  id: 'd-db',
  name: 'db',
  ips: [{ start: '198.51.100.7', end: '198.51.100.7' }],
  hosts: ['db.example.com'],
  ports: [{ start: 5432, end: 5432 }],
  protocol: 'tcp',
};
const classic: Destination = {
  id: 'd-classic',
  name: 'classic',
  ips: [{ start: '198.51.100.8', end: '198.51.100.8' }],
  ports: [{ start: 3306, end: 3306 }],
  protocol: 'tcp',
};

const policies: EgressPolicy[] = [
  { id: 'p1', source: { type: 'app', id: 'app-1' }, destination: https },
  { id: 'p2', source: { type: 'app', id: 'app-1' }, destination: http },
  { id: 'p3', source: { type: 'space', id: 'space-1' }, destination: mixed },
  { id: 'p4', source: { type: 'app', id: 'app-2' }, destination: classic },
];

describe('snapshots with destinations matched by name', () => {
  it('carry hosts and routes to the cells whole, through encoding and through shards', () => {
    const snapshot = buildSnapshot(5, policies);
    expect(() => assertValidSnapshot(snapshot)).not.toThrow();
    const encoded = encodeSnapshot(snapshot);
    const decoded = decodeSnapshot(encoded.bytes, encoded.sha256);
    expect(decoded).toEqual(snapshot);
    expect(decoded.destinations).toEqual([https, http, mixed, classic]);
    const merged = mergeShards(5, splitSnapshot(snapshot).values());
    expect(snapshotToPolicyList(merged).egress_policies.map((policy) => policy.destination)).toEqual(
      expect.arrayContaining([https, http, mixed, classic]),
    );
  });

  it('keep a classic destination as it was: no hosts or routes key', () => {
    const text = JSON.stringify(buildSnapshot(1, [policies[3] as EgressPolicy]).destinations);
    expect(text).toBe(
      '[{"id":"d-classic","name":"classic","ips":[{"start":"198.51.100.8","end":"198.51.100.8"}],"ports":[{"start":3306,"end":3306}],"protocol":"tcp"}]',
    );
  });

  it('are refused when a destination breaks a rule the API checks (a stored item edited by hand, say)', () => {
    const broken = buildSnapshot(2, [{ ...(policies[1] as EgressPolicy), destination: { ...http, hosts: ['*.org'] } }]);
    expect(() => assertValidSnapshot(broken)).toThrow(/destinations\[0\]\.hosts\[0\]/);
    const regex = buildSnapshot(2, [
      { ...(policies[1] as EgressPolicy), destination: { ...http, routes: [{ path_regex: '/(a+)+' }] } },
    ]);
    expect(() => assertValidSnapshot(regex)).toThrow(/routes\[0\]\.path_regex/);
  });
});

describe('policies for one lifecycle or every app with names', () => {
  const lifecyclePolicies: EgressPolicy[] = [
    { id: 'p1', source: { type: 'default', id: '' }, destination: http, app_lifecycle: 'staging' },
    { id: 'p2', source: { type: 'app', id: 'app-1' }, destination: https, app_lifecycle: 'running' },
    { id: 'p3', source: { type: 'default', id: '' }, destination: mixed },
  ];

  it('carry every name part as a rule by host name (wildcards and routes too), through encoding and shards', () => {
    const snapshot = buildSnapshot(6, lifecyclePolicies);
    expect(snapshot.sources).toEqual([]);
    const { rules, bindings } = snapshot.security_groups;
    const indexOf = (rule: object) => rules.findIndex((each) => JSON.stringify(each) === JSON.stringify(rule));
    const httpRule = indexOf({
      protocol: 'http',
      ips: [],
      ports: [{ start: 80, end: 80 }],
      hosts: ['httpbin.org'],
      destination: 'd-httpbin',
      routes: http.routes,
    });
    const httpsRule = indexOf({
      protocol: 'https',
      ips: [],
      ports: [{ start: 443, end: 443 }],
      hosts: ['api.example.com', '*.example.org'],
      destination: 'd-api',
    });
    const tcpRule = indexOf({
      protocol: 'tcp',
      ips: [],
      ports: [{ start: 5432, end: 5432 }],
      hosts: ['db.example.com'],
      destination: 'd-db',
    });
    expect([httpRule, httpsRule, tcpRule].every((index) => index >= 0)).toBe(true);
    expect(bindings).toEqual(
      expect.arrayContaining([
        ['app', 'running', 'app-1', [httpsRule]],
        ['global', 'staging', '', expect.arrayContaining([httpRule, tcpRule])],
      ]),
    );
    const encoded = encodeSnapshot(snapshot);
    expect(decodeSnapshot(encoded.bytes, encoded.sha256)).toEqual(snapshot);
    // Shards index rules their own way: compare what each binding holds.
    const held = ({ rules: all, bindings: bound }: typeof snapshot.security_groups) =>
      bound.map(([scope, lifecycle, target, indexes]) => [
        scope,
        lifecycle,
        target,
        indexes.map((index) => JSON.stringify(all[index])).sort(),
      ]);
    expect(held(mergeShards(6, splitSnapshot(snapshot).values()).security_groups)).toEqual(
      held(snapshot.security_groups),
    );
  });

  it('are refused by a cell when a rule by host name breaks its rules', () => {
    const refused = (rule: object) => {
      const security_groups = { rules: [rule], bindings: [['global', 'running', '', [0]]] };
      const bytes = gzipSync(JSON.stringify({ format: 3, version: 1, destinations: [], sources: [], security_groups }));
      return () => decodeSnapshot(bytes, sha256(bytes));
    };
    const byName = {
      protocol: 'http',
      ips: [],
      ports: [{ start: 80, end: 80 }],
      hosts: ['a.example.com'],
      destination: 'd1',
    };
    expect(refused(byName)).not.toThrow();
    expect(refused({ ...byName, hosts: ['*.example.com'], routes: [{ path_regex: '/get' }] })).not.toThrow();
    expect(refused({ ...byName, protocol: 'https', routes: [{}] })).toThrow(/routes: are only allowed for http/);
    expect(refused({ ...byName, protocol: 'tcp', hosts: ['*.example.com'] })).toThrow(
      /hosts\[0\]: must be an exact name/,
    );
    expect(refused({ ...byName, routes: [{ path_regex: '/(a+)+' }] })).toThrow(/routes\[0\]\.path_regex/);
    expect(refused({ ...byName, hosts: ['*.org'] })).toThrow(/hosts\[0\]/);
    expect(refused({ ...byName, protocol: 'icmp' })).toThrow(/hosts: are only allowed for tcp, udp, http and https/);
    expect(refused({ ...byName, log: true })).toThrow(/log: is not allowed with hosts/);
    expect(refused({ ...byName, destination: undefined })).toThrow(/destination: is required with hosts/);
    const { hosts: _hosts, destination: _destination, ...withoutNames } = byName;
    expect(refused(withoutNames)).toThrow(/protocol: http needs hosts/);
    expect(
      refused({ ...withoutNames, protocol: 'tcp', ips: [{ start: '10.0.0.1', end: '10.0.0.1' }], routes: [{}] }),
    ).toThrow(/routes: are only allowed with hosts/);
  });
});
