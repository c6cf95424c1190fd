// Destinations matched by name travel whole through snapshots and source shards (what cells read),
// and classic ones gain no key.
import { describe, expect, it } from 'vitest';
import {
  assertValidSnapshot,
  buildSnapshot,
  decodeSnapshot,
  encodeSnapshot,
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
