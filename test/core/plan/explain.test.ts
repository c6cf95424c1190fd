import { describe, expect, it } from 'vitest';
import type { SecurityGroup, SecurityGroupRule } from '../../../core/domain/security-group.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import { type ExplainQuery, type ExplainState, explain } from '../../../core/plan/explain.js';
import { tcpDestination } from '../../helpers/fixtures.js';

const APP = 'a0000000-0000-4000-8000-000000000001';
const SPACE = 's0000000-0000-4000-8000-000000000001';
const ORG = 'o0000000-0000-4000-8000-000000000001';

function policy(
  id: string,
  source: EgressPolicy['source'],
  ip: string,
  port: number,
  extra: Partial<EgressPolicy> = {},
) {
  const destination = {
    id: `d-${id}`,
    ...tcpDestination(`dest ${id}`, { ips: [{ start: ip, end: ip }], ports: [{ start: port, end: port }] }),
  };
  return { id, source, destination, ...extra } satisfies EgressPolicy;
}

function group(
  name: string,
  rules: SecurityGroupRule[],
  bind: Partial<Pick<SecurityGroup, 'globallyEnabled' | 'bindings'>>,
) {
  return {
    guid: `g-${name}`,
    name,
    createdAt: '2026-12-04T00:00:00Z',
    updatedAt: '2026-12-04T00:00:00Z',
    globallyEnabled: { running: false, staging: false },
    rules,
    bindings: { running: { space: [], organization: [] }, staging: { space: [], organization: [] } },
    ...bind,
  } satisfies SecurityGroup;
}

const tcpTo = (ip: string, port: number, more: Partial<ExplainQuery> = {}): ExplainQuery => ({
  app: APP,
  space: SPACE,
  org: ORG,
  workload: 'app',
  ip,
  protocol: 'tcp',
  port,
  ...more,
});

const state = (policies: EgressPolicy[], groups: SecurityGroup[] = []): ExplainState => ({
  version: 9,
  policies,
  groups,
});

describe('explain', () => {
  it('allows through an app policy and names it', () => {
    const answer = explain(
      tcpTo('198.51.100.7', 443),
      state([policy('p1', { type: 'app', id: APP }, '198.51.100.7', 443)]),
    );
    expect(answer.allowed).toBe(true);
    expect(answer.version).toBe(9);
    expect(answer.reasons.map((reason) => reason.type)).toEqual(['egress_policy']);
    expect(answer.reasons[0]?.description).toContain('egress policy p1 lets app');
  });

  it('refuses by default, on another port, address or protocol, and for another app', () => {
    const s = state([policy('p1', { type: 'app', id: APP }, '198.51.100.7', 443)]);
    for (const query of [
      tcpTo('198.51.100.7', 444),
      tcpTo('198.51.100.8', 443),
      tcpTo('198.51.100.7', 443, { protocol: 'udp' }),
      tcpTo('198.51.100.7', 443, { app: 'other-app' }),
    ]) {
      const answer = explain(query, s);
      expect(answer.allowed, JSON.stringify(query)).toBe(false);
      expect(answer.reasons.map((reason) => reason.type)).toEqual(['default_deny']);
    }
  });

  it('names every policy and group rule that allows it, and how each group applies', () => {
    const groups = [
      group('public', [{ protocol: 'all', destination: '198.51.100.0-198.51.100.255' }], {
        globallyEnabled: { running: true, staging: false },
      }),
      group(
        'db',
        [
          { protocol: 'udp', destination: '198.51.100.7', ports: '443' },
          { protocol: 'tcp', destination: '198.51.100.0/28', ports: '400-500' },
        ],
        { bindings: { running: { space: [SPACE], organization: [ORG] }, staging: { space: [], organization: [] } } },
      ),
      group('unbound', [{ protocol: 'all', destination: '0.0.0.0/0' }], {}),
    ];
    const answer = explain(
      tcpTo('198.51.100.7', 443),
      state([policy('p1', { type: 'space', id: SPACE }, '198.51.100.7', 443)], groups),
    );
    expect(answer.allowed).toBe(true);
    expect(answer.reasons).toMatchObject([
      { type: 'egress_policy', policy: { id: 'p1' } },
      { type: 'security_group', security_group: { name: 'public' }, bound: ['global'], rule_index: 0 },
      { type: 'security_group', security_group: { name: 'db' }, bound: ['space', 'organization'], rule_index: 1 },
    ]);
  });

  it('applies staging groups to staging workloads only, and lifecycle policies to their lifecycle', () => {
    const groups = [
      group('staging-only', [{ protocol: 'tcp', destination: '203.0.113.1', ports: '80' }], {
        globallyEnabled: { running: false, staging: true },
      }),
    ];
    const policies = [policy('p2', { type: 'default', id: '' }, '203.0.113.2', 80, { app_lifecycle: 'running' })];
    const s = state(policies, groups);
    expect(explain(tcpTo('203.0.113.1', 80, { workload: 'staging' }), s).allowed).toBe(true);
    expect(explain(tcpTo('203.0.113.1', 80, { workload: 'task' }), s).allowed).toBe(false);
    expect(explain(tcpTo('203.0.113.2', 80, { workload: 'task' }), s).reasons).toMatchObject([
      { type: 'egress_policy', policy: { id: 'p2' } },
    ]);
    expect(explain(tcpTo('203.0.113.2', 80, { workload: 'staging' }), s).allowed).toBe(false);
  });

  it('refuses a deny network whatever allows it, and names the list', () => {
    const s = state([policy('p1', { type: 'app', id: APP }, '198.51.100.7', 443)]);
    const denyNetworks = { always: ['198.51.100.0/29'], running: [], staging: ['198.51.100.0/24'] };
    const denied = explain(tcpTo('198.51.100.7', 443), s, { denyNetworks });
    expect(denied).toMatchObject({
      allowed: false,
      reasons: [{ type: 'deny_network', cidr: '198.51.100.0/29', list: 'always' }],
    });
    const staging = explain(tcpTo('198.51.100.9', 443, { workload: 'staging' }), s, {
      denyNetworks: { always: [], running: [], staging: ['198.51.100.0/24'] },
    });
    expect(staging.reasons).toMatchObject([{ type: 'deny_network', list: 'staging' }]);
  });

  it('matches icmp type and code as the kernel does', () => {
    const groups = [
      group('ping', [{ protocol: 'icmp', destination: '192.0.2.1', type: 8, code: -1 }], {
        globallyEnabled: { running: true, staging: true },
      }),
    ];
    const icmp = (type: number, code: number): ExplainQuery => ({
      ...tcpTo('192.0.2.1', 0),
      protocol: 'icmp',
      port: undefined,
      icmp: { type, code },
    });
    const { port: _unused, ...base } = icmp(8, 3);
    expect(explain(base, state([], groups)).allowed).toBe(true);
    expect(explain({ ...base, icmp: { type: 13, code: 0 } }, state([], groups)).allowed).toBe(false);
  });

  it('says container-to-container traffic is not egress', () => {
    const answer = explain(tcpTo('10.255.3.4', 8080), state([]));
    expect(answer).toMatchObject({ allowed: true, reasons: [{ type: 'not_egress', overlay: '10.255.0.0/16' }] });
  });
});

describe('explain, for destinations matched by name', () => {
  const https = (id: string, source: EgressPolicy['source'], extra: Partial<EgressPolicy> = {}) =>
    ({
      id,
      source,
      destination: {
        id: `d-${id}`,
        name: `api ${id}`,
        ips: [],
        hosts: ['api.example.com', '*.example.org'],
        ports: [{ start: 443, end: 443 }],
        protocol: 'https',
      },
      ...extra,
    }) satisfies EgressPolicy;
  const mixed = (id: string) => {
    const base = policy(id, { type: 'app', id: APP }, '198.51.100.7', 5432);
    return { ...base, destination: { ...base.destination, hosts: ['db.example.com'] } } satisfies EgressPolicy;
  };

  it('refuses, and names each applicable policy whose host names would carry the connection as not enforced', () => {
    const s = state([
      https('h1', { type: 'app', id: APP }),
      https('h2', { type: 'space', id: SPACE }),
      https('h3', { type: 'default', id: '' }, { app_lifecycle: 'running' }),
      https('other-app', { type: 'app', id: 'other-app' }),
      https('staging', { type: 'default', id: '' }, { app_lifecycle: 'staging' }),
    ]);
    const answer = explain(tcpTo('203.0.113.9', 443), s);
    expect(answer.allowed).toBe(false);
    expect(answer.reasons.map((reason) => reason.type)).toEqual([
      'default_deny',
      'not_enforced',
      'not_enforced',
      'not_enforced',
    ]);
    expect(answer.reasons.slice(1)).toMatchObject([
      { policy: { id: 'h1' } },
      { policy: { id: 'h2' } },
      { policy: { id: 'h3' } },
    ]);
    expect(answer.reasons[1]?.description).toBe(
      `egress policy h1 lets app ${APP} reach destination "api h1" (d-h1) by host name (api.example.com, *.example.org, https), but the cell proxy decides https by SNI, not by address: ask with protocol=https and the host`,
    );
  });

  it('says nothing of them for another port or protocol, nor when a deny network decided', () => {
    const s = state([https('h1', { type: 'app', id: APP })]);
    expect(explain(tcpTo('203.0.113.9', 80), s).reasons.map((reason) => reason.type)).toEqual(['default_deny']);
    expect(explain(tcpTo('203.0.113.9', 443, { protocol: 'udp' }), s).reasons.map((r) => r.type)).toEqual([
      'default_deny',
    ]);
    const denyNetworks = { always: ['203.0.113.0/24'], running: [], staging: [] };
    expect(explain(tcpTo('203.0.113.9', 443), s, { denyNetworks }).reasons.map((r) => r.type)).toEqual([
      'deny_network',
    ]);
  });

  it('allows the ips of a destination with ips and hosts, naming the policy; elsewhere, its names decide on the cell', () => {
    const s = state([mixed('m1')]);
    expect(explain(tcpTo('198.51.100.7', 5432), s)).toMatchObject({
      allowed: true,
      reasons: [{ type: 'egress_policy', policy: { id: 'm1' } }],
    });
    expect(explain(tcpTo('198.51.100.99', 5432), s)).toMatchObject({
      allowed: false,
      reasons: [{ type: 'default_deny' }, { type: 'resolved_names', policy: { id: 'm1' } }],
    });
  });

  it("names a plain tcp/udp policy with exact names as enforced by the cells' resolved addresses", () => {
    const byName = (id: string, extra: Partial<EgressPolicy> = {}, hosts = ['db.example.com']) => {
      const base = policy(id, { type: 'app', id: APP }, '198.51.100.7', 5432);
      return { ...base, destination: { ...base.destination, ips: [], hosts }, ...extra } satisfies EgressPolicy;
    };
    const answer = explain(tcpTo('203.0.113.9', 5432), state([byName('n1')]));
    expect(answer).toMatchObject({
      allowed: false,
      reasons: [{ type: 'default_deny' }, { type: 'resolved_names', policy: { id: 'n1' } }],
    });
    expect(answer.reasons[1]?.description).toMatch(
      /by host name \(db\.example\.com, tcp\): cells allow the addresses they resolve its names to, which explain cannot see: allowed if 203\.0\.113\.9 is one of them$/,
    );
    // Another port: no name could carry it.
    expect(explain(tcpTo('203.0.113.9', 5433), state([byName('n1')])).reasons.map((r) => r.type)).toEqual([
      'default_deny',
    ]);
    // For every app or one lifecycle (those travel as bindings, their names in a rule by host name) too.
    for (const extra of [{ source: { type: 'default', id: '' } } as const, { app_lifecycle: 'running' } as const]) {
      const refused = explain(tcpTo('203.0.113.9', 5432), state([byName('n2', extra)]));
      expect(refused.reasons.map((r) => r.type)).toEqual(['default_deny', 'resolved_names']);
    }
    // Another lifecycle's: nothing.
    const staging = explain(tcpTo('203.0.113.9', 5432), state([byName('n3', { app_lifecycle: 'staging' })]));
    expect(staging.reasons.map((r) => r.type)).toEqual(['default_deny']);
  });
});
