// Fail closed where names are not enforced (NOT_ENFORCED_BY_NAME: planRules' default and explain's;
// the cell agent's BY_HOST_SETS is plan-host-sets.test.ts): a destination's host names, and
// every http or https destination, allow nothing; a destination with ips and hosts allows exactly
// its ips. Checked on the agent's own input paths (the policies file, a snapshot) and by walking
// the plans as the kernel would.
import { describe, expect, it } from 'vitest';
import { parsePolicies } from '../../../agent/source/files.js';
import type { NamePart } from '../../../core/domain/destination-parts.js';
import { buildSnapshot, decodeSnapshot, encodeSnapshot, snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';
import { evaluatePlan } from '../../../core/plan/evaluate.js';
import type { Container } from '../../../core/plan/model.js';
import {
  destinationAllowEntries,
  type NameEnforcement,
  NOT_ENFORCED_BY_NAME,
} from '../../../core/plan/name-enforcement.js';
import { planRules } from '../../../core/plan/plan.js';

const APP = 'app-1';
const SPACE = 'space-1';
const container: Container = { ip: '10.255.1.2', appId: APP, spaceId: SPACE, lifecycle: 'running' };
const DB_IP = '198.51.100.7';

const byName: Record<string, Destination> = {
  tcp: {
    id: 'd-tcp',
    name: 'db',
    ips: [],
    hosts: ['db.example.com'],
    ports: [{ start: 5432, end: 5432 }],
    protocol: 'tcp',
  },
  udp: {
    id: 'd-udp',
    name: 'dns',
    ips: [],
    hosts: ['ns.example.com'],
    ports: [{ start: 53, end: 53 }],
    protocol: 'udp',
  },
  https: {
    id: 'd-https',
    name: 'api',
    ips: [],
    hosts: ['api.example.com', '*.example.org'],
    ports: [{ start: 443, end: 443 }],
    protocol: 'https',
  },
  http: {
    id: 'd-http',
    name: 'httpbin',
    ips: [],
    hosts: ['httpbin.org'],
    ports: [{ start: 1, end: 65535 }],
    protocol: 'http',
    routes: [{ methods: ['GET'], path_regex: '/get' }],
  },
};

const mixed: Destination = {
  id: 'd-mixed',
  name: 'db by address and name',
  ips: [{ start: DB_IP, end: DB_IP }],
  hosts: ['db.example.com'],
  ports: [{ start: 5432, end: 5432 }],
  protocol: 'tcp',
};

const policyTo = (destination: Destination, extra: Partial<EgressPolicy> = {}): EgressPolicy => ({
  id: `p-${destination.id}`,
  source: { type: 'app', id: APP },
  destination,
  ...extra,
});

/** The plan the agent makes from a policies file holding these (its input path: parse, then plan). */
function planFromFile(policies: readonly EgressPolicy[]) {
  const text = JSON.stringify({ total_egress_policies: policies.length, egress_policies: policies });
  return planRules(parsePolicies(text), [container]);
}

/** The plan a cell makes from a published snapshot of these. */
function planFromSnapshot(policies: readonly EgressPolicy[]) {
  const encoded = encodeSnapshot(buildSnapshot(7, policies));
  return planRules(snapshotToPolicyList(decodeSnapshot(encoded.bytes, encoded.sha256)), [container]);
}

const verdict = (plan: ReturnType<typeof planRules>, ip: string, port: number, protocol: 'tcp' | 'udp' = 'tcp') =>
  evaluatePlan(plan, { source: container.ip, destination: ip, protocol, port }).verdict;

/** Addresses a name could resolve to, and some that it could not: none may be let through. */
const PROBES = ['0.0.0.0', '1.1.1.1', DB_IP, '198.51.100.8', '203.0.113.9', '255.255.255.255'];

describe('destinations matched by name (nothing enforces names yet)', () => {
  it.each(Object.keys(byName))('%s with hosts only plans exactly as no policy at all', (kind) => {
    const destination = byName[kind] as Destination;
    for (const source of [
      { type: 'app', id: APP },
      { type: 'space', id: SPACE },
    ] as const) {
      const policy = { ...policyTo(destination), source };
      expect(planFromFile([policy])).toEqual(planFromFile([]));
      expect(planFromSnapshot([policy])).toEqual(planFromSnapshot([]));
    }
  });

  it('lets nothing through to any address or port for a name-only destination', () => {
    const plan = planFromFile(Object.values(byName).map((destination) => policyTo(destination)));
    for (const ip of PROBES) {
      for (const port of [53, 80, 443, 5432, 65535]) {
        expect(verdict(plan, ip, port)).toBe('reject');
        expect(verdict(plan, ip, port, 'udp')).toBe('reject');
      }
    }
  });

  it('allows exactly the ips of a destination with ips and hosts, as if it had no hosts', () => {
    const { hosts: _hosts, ...addressOnly } = mixed;
    expect(planFromFile([policyTo(mixed)])).toEqual(planFromFile([policyTo(addressOnly)]));
    const plan = planFromSnapshot([policyTo(mixed)]);
    expect(plan).toEqual(planFromSnapshot([policyTo(addressOnly)]));
    expect(verdict(plan, DB_IP, 5432)).toBe('accept');
    for (const ip of PROBES.filter((probe) => probe !== DB_IP)) expect(verdict(plan, ip, 5432)).toBe('reject');
    expect(verdict(plan, DB_IP, 5433)).toBe('reject');
  });

  it('keeps the ips of policies that travel as bindings (every app, or one lifecycle); their names travel as rules by host name, which allow nothing here', () => {
    const policies = [
      policyTo(byName.https as Destination, { source: { type: 'default', id: '' } }),
      policyTo(byName.tcp as Destination, { app_lifecycle: 'running' }),
      policyTo(mixed, { source: { type: 'default', id: '' }, app_lifecycle: 'running' }),
    ];
    const snapshot = buildSnapshot(3, policies);
    const port = [{ start: 5432, end: 5432 }];
    expect(snapshot.security_groups.rules).toEqual([
      {
        protocol: 'https',
        ips: [],
        ports: [{ start: 443, end: 443 }],
        hosts: ['api.example.com', '*.example.org'],
        destination: 'd-https',
      },
      { protocol: 'tcp', ips: [], ports: port, hosts: ['db.example.com'], destination: 'd-tcp' },
      { protocol: 'tcp', ips: [{ start: DB_IP, end: DB_IP }], ports: port },
      { protocol: 'tcp', ips: [], ports: port, hosts: ['db.example.com'], destination: 'd-mixed' },
    ]);
    for (const plan of [planFromSnapshot(policies), planFromFile(policies)]) {
      expect(verdict(plan, DB_IP, 5432)).toBe('accept');
      for (const ip of PROBES.filter((probe) => probe !== DB_IP)) {
        expect(verdict(plan, ip, 443)).toBe('reject');
        expect(verdict(plan, ip, 5432)).toBe('reject');
      }
    }
  });
});

describe('destinationAllowEntries (the seam for name enforcement)', () => {
  it('gives the ips part only, by default', () => {
    expect(destinationAllowEntries('p', mixed)).toEqual([
      {
        id: 'p',
        destination: { ips: mixed.ips, ports: mixed.ports, protocol: 'tcp' },
      },
    ]);
    expect(destinationAllowEntries('p', byName.https as Destination)).toEqual([]);
    expect(destinationAllowEntries('p', mixed, NOT_ENFORCED_BY_NAME)).toEqual(destinationAllowEntries('p', mixed));
  });

  it('hands the name part, and only it, to an enforcement that plugs in', () => {
    const seen: NamePart[] = [];
    const resolving: NameEnforcement = {
      allowEntries: (id, part) => {
        seen.push(part);
        return [
          { id, destination: { ips: [{ start: '192.0.2.1', end: '192.0.2.1' }], ports: part.ports, protocol: 'tcp' } },
        ];
      },
    };
    const entries = destinationAllowEntries('p', mixed, resolving);
    expect(seen).toEqual([{ hosts: ['db.example.com'], ports: mixed.ports, protocol: 'tcp' }]);
    expect(entries.map((entry) => entry.destination.ips)).toEqual([
      mixed.ips,
      [{ start: '192.0.2.1', end: '192.0.2.1' }],
    ]);
    destinationAllowEntries('q', byName.http as Destination, resolving);
    expect(seen[1]).toEqual({
      hosts: ['httpbin.org'],
      ports: [{ start: 1, end: 65535 }],
      protocol: 'http',
      routes: [{ methods: ['GET'], path_regex: '/get' }],
    });
  });
});
