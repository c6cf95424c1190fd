// The proxy's plan from a cell's desired state: which layer-7 destinations, for which containers,
// and which tcp connections those containers' filter rules already allow by address (exempt from
// interception). Built through a real snapshot, as cells decode it.
import { describe, expect, it } from 'vitest';
import type { SecurityGroup } from '../../../core/domain/security-group.js';
import { buildSnapshot, snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';
import { planLayer7 } from '../../../core/plan/layer7.js';
import type { Container } from '../../../core/plan/model.js';
import { hostSetName } from '../../../core/plan/names.js';

const containers: Container[] = [
  { ip: '10.255.1.3', appId: 'app-a', spaceId: 'space-1', lifecycle: 'running' },
  { ip: '10.255.1.2', appId: 'app-a', spaceId: 'space-1', lifecycle: 'running' },
  { ip: '10.255.1.4', appId: 'app-b', spaceId: 'space-1', lifecycle: 'running' },
  { ip: '10.255.1.5', appId: 'app-c', spaceId: 'space-2', lifecycle: 'running' },
  // A staging task of app-a: policies for one lifecycle tell it apart.
  { ip: '10.255.1.9', appId: 'app-a', spaceId: 'space-1', lifecycle: 'staging' },
];

const web: Destination = {
  id: 'd-web',
  name: 'web',
  ips: [],
  hosts: ['api.example.com', '*.example.org'],
  ports: [{ start: 80, end: 80 }],
  protocol: 'http',
  routes: [{ methods: ['GET'], path_regex: '/get' }],
};
const tls: Destination = {
  id: 'd-tls',
  name: 'tls',
  ips: [],
  hosts: ['secure.example.com'],
  ports: [{ start: 443, end: 443 }],
  protocol: 'https',
};
const byAddress: Destination = {
  id: 'd-ip',
  name: 'ip',
  ips: [{ start: '198.51.100.8', end: '198.51.100.11' }],
  ports: [
    { start: 443, end: 443 },
    { start: 8000, end: 8100 },
  ],
  protocol: 'tcp',
};
const udpByAddress: Destination = { ...byAddress, id: 'd-udp', name: 'udp', protocol: 'udp' };
const tcpByName: Destination = {
  id: 'd-name',
  name: 'name',
  ips: [],
  hosts: ['db.example.com'],
  ports: [{ start: 443, end: 443 }],
  protocol: 'tcp',
};

const policy = (
  id: string,
  type: 'app' | 'space' | 'default',
  source: string,
  destination: Destination,
  extra: Pick<EgressPolicy, 'app_lifecycle'> = {},
): EgressPolicy => ({ id, source: { type, id: source }, destination, ...extra });

const withoutName = ({ id, protocol, hosts, ports, routes }: Destination) => ({
  id,
  protocol,
  hosts,
  ports,
  ...(routes === undefined ? {} : { routes }),
});

const plan = (policies: EgressPolicy[], groups: SecurityGroup[] = []) =>
  planLayer7(snapshotToPolicyList(buildSnapshot(1, policies, groups)), containers);

describe('planLayer7', () => {
  it('gives each http or https destination the addresses of the containers of the apps and spaces it is for', () => {
    const result = plan([
      policy('p1', 'app', 'app-a', web),
      policy('p2', 'space', 'space-1', tls),
      policy('p3', 'app', 'app-c', web),
      policy('p4', 'app', 'app-unhosted', tls),
    ]);
    expect(result.destinations).toEqual([
      {
        id: 'd-tls',
        protocol: 'https',
        hosts: ['secure.example.com'],
        ports: [{ start: 443, end: 443 }],
        sources: ['10.255.1.2', '10.255.1.3', '10.255.1.4', '10.255.1.9'],
      },
      {
        id: 'd-web',
        protocol: 'http',
        hosts: ['api.example.com', '*.example.org'],
        ports: [{ start: 80, end: 80 }],
        routes: [{ methods: ['GET'], path_regex: '/get' }],
        sources: ['10.255.1.2', '10.255.1.3', '10.255.1.5', '10.255.1.9'],
      },
    ]);
  });

  it('gives policies for one lifecycle, or for every app, to the containers of that lifecycle (they travel as bindings)', () => {
    const sourcesOf = (policies: EgressPolicy[]) =>
      Object.fromEntries(plan(policies).destinations.map(({ id, sources }) => [id, sources]));
    // Every app, running only: every running container, not the staging task.
    expect(sourcesOf([policy('p1', 'default', '', tls, { app_lifecycle: 'running' })])).toEqual({
      'd-tls': ['10.255.1.2', '10.255.1.3', '10.255.1.4', '10.255.1.5'],
    });
    // Every app, every lifecycle.
    expect(sourcesOf([policy('p1', 'default', '', tls)])).toEqual({
      'd-tls': ['10.255.1.2', '10.255.1.3', '10.255.1.4', '10.255.1.5', '10.255.1.9'],
    });
    // One app's staging only, one space's running only; routes and wildcards travel with them.
    const result = plan([
      policy('p1', 'app', 'app-a', web, { app_lifecycle: 'staging' }),
      policy('p2', 'space', 'space-2', web, { app_lifecycle: 'running' }),
      policy('p3', 'space', 'space-1', tls, { app_lifecycle: 'staging' }),
    ]);
    expect(result.destinations).toEqual([
      { ...withoutName(tls), sources: ['10.255.1.9'] },
      { ...withoutName(web), sources: ['10.255.1.5', '10.255.1.9'] },
    ]);
    // The same destination from a plain policy and a binding: one destination, its sources merged.
    expect(
      sourcesOf([policy('p1', 'app', 'app-b', web), policy('p2', 'app', 'app-a', web, { app_lifecycle: 'staging' })]),
    ).toEqual({ 'd-web': ['10.255.1.4', '10.255.1.9'] });
  });

  it('leaves out tcp and udp destinations, by address or by name: the filter rules and the name sets have them', () => {
    const result = plan([
      policy('p1', 'app', 'app-a', byAddress),
      policy('p2', 'app', 'app-a', tcpByName),
      policy('p3', 'app', 'app-a', udpByAddress),
    ]);
    expect(result.destinations).toEqual([]);
    expect(result.allowances.size).toBe(0);
  });

  it('lists, for each proxied container only, the tcp connections its app, space and security groups allow by address', () => {
    const group: SecurityGroup = {
      guid: 'g-1',
      name: 'public-https',
      rules: [
        { protocol: 'tcp', destination: '203.0.113.0/24', ports: '443' },
        { protocol: 'all', destination: '192.0.2.1' },
        { protocol: 'udp', destination: '192.0.2.2', ports: '443' },
      ],
      globallyEnabled: { running: true, staging: false },
      bindings: { running: { space: [], organization: [] }, staging: { space: [], organization: [] } },
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
    };
    const result = plan(
      [
        policy('p1', 'app', 'app-a', web),
        policy('p2', 'space', 'space-1', byAddress),
        policy('p3', 'app', 'app-a', udpByAddress),
        policy('p4', 'app', 'app-a', tcpByName),
        policy('p5', 'app', 'app-b', byAddress),
      ],
      [group],
    );
    // app-b (10.255.1.4) has no layer-7 destination: nothing of it is intercepted (app-a's staging task is).
    expect([...result.allowances.keys()].sort()).toEqual(['10.255.1.2', '10.255.1.3', '10.255.1.9']);
    const allowances = result.allowances.get('10.255.1.2') ?? [];
    expect(allowances).toEqual(
      expect.arrayContaining([
        { cidrs: ['198.51.100.8/30'], ports: byAddress.ports },
        { cidrs: ['203.0.113.0/24'], ports: [{ start: 443, end: 443 }] },
        { cidrs: ['192.0.2.1/32'] },
        // A tcp destination by exact name: the members of its host set (name-enforcement.ts).
        { cidrs: [], hostSets: [hostSetName('d-name', ['db.example.com'])], ports: [{ start: 443, end: 443 }] },
      ]),
    );
    // udp is not a tcp allowance.
    expect(allowances).toHaveLength(4);
  });

  it('withholds from a container both destinations that give it one port as http and as https, and lists the conflict', () => {
    const tlsOn80: Destination = { ...tls, id: 'd-tls80', name: 'tls80', ports: [{ start: 79, end: 81 }] };
    const result = plan([
      policy('p1', 'app', 'app-a', web),
      policy('p2', 'app', 'app-a', tlsOn80),
      policy('p3', 'app', 'app-a', tls),
      // app-b has only the https one on port 80: no conflict of its own.
      policy('p4', 'app', 'app-b', tlsOn80),
      policy('p5', 'app', 'app-c', web),
    ]);
    expect(result.conflicts).toEqual(
      ['10.255.1.2', '10.255.1.3', '10.255.1.9'].map((source) => ({
        source,
        ports: { start: 80, end: 80 },
        http: 'd-web',
        https: 'd-tls80',
      })),
    );
    // app-a's containers keep the destination that does not conflict (443), and nothing else.
    expect(Object.fromEntries(result.destinations.map(({ id, sources }) => [id, sources]))).toEqual({
      'd-tls': ['10.255.1.2', '10.255.1.3', '10.255.1.9'],
      'd-tls80': ['10.255.1.4'],
      'd-web': ['10.255.1.5'],
    });
    // http and https on ports that do not overlap: no conflict.
    expect(plan([policy('p1', 'app', 'app-a', web), policy('p2', 'app', 'app-a', tls)]).conflicts).toEqual([]);
  });
});
