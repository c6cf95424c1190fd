// Security groups as cells get them: rules parsed into ranges, each distinct rule once, bindings
// merged per (scope, lifecycle, target), and a section a cell would refuse.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SecurityGroup } from '../../../core/domain/security-group.js';
import {
  buildSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  sha256,
  snapshotToPolicyList,
} from '../../../core/domain/snapshot.js';
import { buildSecurityGroupsSection, withPolicyBindings } from '../../../core/domain/snapshot-groups.js';
import type { EgressPolicy } from '../../../core/domain/types.js';

const SPACE = '5b6e2f4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const ORG = '7d8a4b6c-3e5f-4a7b-8c1d-2e3f4a5b6c7d';

const group = (name: string, fields: Partial<SecurityGroup>): SecurityGroup => ({
  guid: `guid-${name}`,
  name,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  globallyEnabled: { running: false, staging: false },
  rules: [],
  bindings: { running: { space: [], organization: [] }, staging: { space: [], organization: [] } },
  ...fields,
});

const publicEgress = group('public', {
  rules: [
    { protocol: 'all', destination: '0.0.0.0-9.255.255.255,11.0.0.0/8' },
    { protocol: 'tcp', destination: '10.0.0.5/24', ports: '443,80,443', log: true },
  ],
  globallyEnabled: { running: false, staging: true },
  bindings: { running: { space: [SPACE], organization: [] }, staging: { space: [], organization: [] } },
});
const dns = group('dns', {
  rules: [
    { protocol: 'udp', destination: '10.0.0.53', ports: '53' },
    // The same rule as public's second: stored once.
    { protocol: 'tcp', destination: '10.0.0.5/24', ports: '443,80,443', log: true },
    { protocol: 'icmp', destination: '10.0.0.1', type: 255, code: 0 },
  ],
  bindings: { running: { space: [SPACE], organization: [ORG] }, staging: { space: [], organization: [] } },
});

describe('buildSecurityGroupsSection', () => {
  it('parses rules once each and merges the rules of every group bound to one target', () => {
    const section = buildSecurityGroupsSection([
      publicEgress,
      dns,
      group('empty', { globallyEnabled: { running: true, staging: true } }),
    ]);
    expect(section.rules).toEqual([
      {
        protocol: 'all',
        ips: [
          { start: '0.0.0.0', end: '9.255.255.255' },
          { start: '11.0.0.0', end: '11.255.255.255' },
        ],
        ports: [],
      },
      {
        protocol: 'tcp',
        ips: [{ start: '10.0.0.0', end: '10.0.0.255' }],
        ports: [
          { start: 443, end: 443 },
          { start: 80, end: 80 },
        ],
        log: true,
      },
      { protocol: 'udp', ips: [{ start: '10.0.0.53', end: '10.0.0.53' }], ports: [{ start: 53, end: 53 }] },
      // CF's type 255 is "any type", as -1.
      { protocol: 'icmp', ips: [{ start: '10.0.0.1', end: '10.0.0.1' }], ports: [], icmp_type: -1, icmp_code: 0 },
    ]);
    // A group without rules adds no binding, even globally enabled.
    expect(section.bindings).toEqual([
      ['global', 'staging', '', [0, 1]],
      ['organization', 'running', ORG, [1, 2, 3]],
      ['space', 'running', SPACE, [0, 1, 2, 3]],
    ]);
  });

  it('travels in the snapshot to the agent’s policy list, and a cell refuses a binding past the rules', () => {
    const snapshot = buildSnapshot(3, [], [publicEgress]);
    const encoded = encodeSnapshot(snapshot);
    const list = snapshotToPolicyList(decodeSnapshot(encoded.bytes, encoded.sha256));
    expect(list.security_groups).toEqual(buildSecurityGroupsSection([publicEgress]));

    const bad = (security_groups: unknown) => {
      const bytes = gzipSync(JSON.stringify({ format: 3, version: 1, destinations: [], sources: [], security_groups }));
      return () => decodeSnapshot(bytes, sha256(bytes));
    };
    const rule = { protocol: 'all', ips: [{ start: '10.0.0.1', end: '10.0.0.1' }], ports: [] };
    expect(bad({ rules: [rule], bindings: [['space', 'running', SPACE, [1]]] })).toThrow(/points past the rules/);
    expect(bad({ rules: [rule], bindings: [['global', 'running', SPACE, [0]]] })).toThrow(/only they, have no target/);
    expect(bad({ rules: [rule], bindings: [['space', 'running', '', [0]]] })).toThrow(/only they, have no target/);
    expect(bad({ rules: [rule], bindings: [['space', 'running', '-j ACCEPT', [0]]] })).toThrow(/bindings\[0\]\[2\]/);
    expect(bad({ rules: [{ ...rule, protocol: 'icmpv6' }], bindings: [] })).toThrow(/rules\[0\]\.protocol/);
    expect(bad({ rules: [{ ...rule, ips: [{ start: '10.0.0.2', end: '10.0.0.1' }] }], bindings: [] })).toThrow(
      /must not be greater than end/,
    );
    expect(bad({ rules: [rule], bindings: [['space', 'sometimes', SPACE, [0]]] })).toThrow(/bindings\[0\]\[1\]/);
  });

  it('carries egress policies for one lifecycle or every app as bindings, and plain ones as sources', () => {
    const db = {
      id: 'd1',
      name: 'db',
      ips: [{ start: '10.0.0.5', end: '10.0.0.5' }],
      ports: [{ start: 5432, end: 5432 }],
      protocol: 'tcp' as const,
    };
    const policies: EgressPolicy[] = [
      { id: 'p1', source: { type: 'app', id: 'app-1' }, destination: db, app_lifecycle: 'staging' },
      { id: 'p2', source: { type: 'default', id: '' }, destination: db },
      { id: 'p3', source: { type: 'space', id: SPACE }, destination: db },
    ];
    const snapshot = buildSnapshot(4, policies, [publicEgress]);
    expect(snapshot.sources).toEqual([['space', SPACE, [0]]]);
    const dbRule = {
      protocol: 'tcp',
      ips: [{ start: '10.0.0.5', end: '10.0.0.5' }],
      ports: [{ start: 5432, end: 5432 }],
    };
    const dbIndex = snapshot.security_groups.rules.findIndex((rule) => JSON.stringify(rule) === JSON.stringify(dbRule));
    expect(dbIndex).toBeGreaterThanOrEqual(0);
    expect(snapshot.security_groups.bindings).toEqual(
      expect.arrayContaining([
        ['app', 'staging', 'app-1', [dbIndex]],
        ['global', 'running', '', [dbIndex]],
        ['global', 'staging', '', [0, 1, dbIndex].sort((a, b) => a - b)],
      ]),
    );
    expect(
      snapshot.security_groups.bindings.some(([scope, lifecycle]) => scope === 'app' && lifecycle === 'running'),
    ).toBe(false);
    // A policies file (the agent's --policies) gets the same treatment, its own section kept.
    const moved = withPolicyBindings({
      total_egress_policies: 3,
      egress_policies: policies,
      security_groups: buildSecurityGroupsSection([publicEgress]),
    });
    expect(moved.egress_policies.map((policy) => policy.id)).toEqual(['p3']);
    expect(moved.security_groups).toEqual(snapshot.security_groups);
  });
});
