// The cell agent's name enforcement (issue 15 item 2): a tcp, udp or all destination with exact hosts
// is allowed through its host set (one rule per service, matching a set the plan does not fill);
// wildcards and http/https still allow nothing; address-only destinations plan as before. Plans are
// walked as a cell would walk them, with the host sets holding what the names resolved to.
import { describe, expect, it } from 'vitest';
import { renderChain } from '../../../agent/render.js';
import { parsePolicies } from '../../../agent/source/files.js';
import { buildSnapshot, decodeSnapshot, encodeSnapshot, snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import { groupRuleDocumentSchema } from '../../../core/domain/snapshot-groups.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';
import { planAllowRules } from '../../../core/plan/allow-rules.js';
import { evaluatePlan } from '../../../core/plan/evaluate.js';
import type { Container, RulePlan } from '../../../core/plan/model.js';
import { BY_HOST_SETS, destinationAllowEntries } from '../../../core/plan/name-enforcement.js';
import { hostSetName, isHostSet } from '../../../core/plan/names.js';
import { planRules } from '../../../core/plan/plan.js';
import { validationMessage } from '../../helpers/validation-message.js';

const APP = 'app-1';
const SPACE = 'space-1';
const container: Container = { ip: '10.255.1.2', appId: APP, spaceId: SPACE, lifecycle: 'running' };
const DB_IP = '198.51.100.7';
const OTHER_IP = '198.51.100.8';
const FIXED_IP = '192.0.2.10';

const destination = (id: string, fields: Partial<Destination>): Destination => ({
  id,
  name: id,
  ips: [],
  ports: [{ start: 5432, end: 5432 }],
  protocol: 'tcp',
  ...fields,
});

const db = destination('d-db', { hosts: ['db.example.test', 'db2.example.test'] });
const dns = destination('d-dns', { hosts: ['ns.example.test'], protocol: 'udp', ports: [{ start: 53, end: 53 }] });
const mixed = destination('d-mixed', { hosts: ['db.example.test'], ips: [{ start: FIXED_IP, end: FIXED_IP }] });
const https = destination('d-https', {
  hosts: ['api.example.test'],
  protocol: 'https',
  ports: [{ start: 443, end: 443 }],
});
const http = destination('d-http', { hosts: ['web.example.test'], protocol: 'http', ports: [{ start: 80, end: 80 }] });
/** The host set of one of the destinations above, by its id (the set is keyed by id and names). */
const setOf = (id: string): string => {
  const hosts = [db, dns, mixed, https, http].find((known) => known.id === id)?.hosts;
  if (hosts === undefined) throw new Error(`no destination ${id}`);
  return hostSetName(id, hosts);
};

const policyTo = (target: Destination, extra: Partial<EgressPolicy> = {}): EgressPolicy => ({
  id: `p-${target.id}`,
  source: { type: 'app', id: APP },
  destination: target,
  ...extra,
});

/** The agent's plan from a policies file holding these (its input path), names enforced by host set. */
function agentPlan(policies: readonly EgressPolicy[], containers: readonly Container[] = [container]): RulePlan {
  const text = JSON.stringify({ total_egress_policies: policies.length, egress_policies: policies });
  return planRules(parsePolicies(text), containers, { names: BY_HOST_SETS });
}

/** The same from a published snapshot. */
function agentPlanFromSnapshot(policies: readonly EgressPolicy[]): RulePlan {
  const encoded = encodeSnapshot(buildSnapshot(7, policies));
  return planRules(snapshotToPolicyList(decodeSnapshot(encoded.bytes, encoded.sha256)), [container], {
    names: BY_HOST_SETS,
  });
}

/** A walk with `members` in the host set of each destination id. */
function verdict(
  plan: RulePlan,
  members: Record<string, readonly string[]>,
  ip: string,
  port: number,
  protocol: 'tcp' | 'udp' = 'tcp',
) {
  const sets = new Map(Object.entries(members).map(([id, addresses]) => [setOf(id), addresses]));
  return evaluatePlan(plan, { source: container.ip, destination: ip, protocol, port }, sets).verdict;
}

const allRuleSpecs = (plan: RulePlan): string[] =>
  plan.chains.flatMap((chain) => renderChain(chain).map((rule) => rule.body));

describe('BY_HOST_SETS: allow entries', () => {
  it('gives a tcp or udp destination with exact hosts one entry matching its host set', () => {
    expect(destinationAllowEntries('p', db, BY_HOST_SETS)).toEqual([
      {
        id: 'p',
        destination: {
          hostSet: { name: setOf('d-db'), destinationId: 'd-db', hosts: ['db.example.test', 'db2.example.test'] },
          ports: db.ports,
          protocol: 'tcp',
        },
      },
    ]);
    expect(destinationAllowEntries('p', dns, BY_HOST_SETS)[0]?.destination).toMatchObject({ protocol: 'udp' });
  });

  it('keeps the ips of a mixed destination as an address entry beside the host set', () => {
    const entries = destinationAllowEntries('p', mixed, BY_HOST_SETS);
    expect(entries.map((entry) => entry.destination.ips)).toEqual([mixed.ips, undefined]);
    expect(entries[1]?.destination.hostSet?.name).toBe(setOf('d-mixed'));
  });

  it('gives nothing for http, https, or wildcards only; a wildcard beside exact names is left out', () => {
    expect(destinationAllowEntries('p', https, BY_HOST_SETS)).toEqual([]);
    expect(destinationAllowEntries('p', http, BY_HOST_SETS)).toEqual([]);
    // The API refuses wildcards for tcp (a pattern cannot be resolved); the planner does not rely on it.
    const wildcardOnly = destination('d-w', { hosts: ['*.example.test'] });
    expect(destinationAllowEntries('p', wildcardOnly, BY_HOST_SETS)).toEqual([]);
    const both = destination('d-b', { hosts: ['*.example.test', 'db.example.test'] });
    expect(destinationAllowEntries('p', both, BY_HOST_SETS)[0]?.destination.hostSet?.hosts).toEqual([
      'db.example.test',
    ]);
  });

  it('returns an address-only destination itself, not a copy (the hot path)', () => {
    const plain = destination('d-plain', { ips: [{ start: FIXED_IP, end: FIXED_IP }] });
    const [entry] = destinationAllowEntries('p', plain, BY_HOST_SETS);
    expect(entry?.destination).toBe(plain);
  });
});

describe('BY_HOST_SETS: rules', () => {
  it('matches the host set with the service, one rule per port range, and keeps it out of the plan sets', () => {
    const twoPorts = destination('d-two', {
      hosts: ['db.example.test'],
      ports: [
        { start: 5432, end: 5432 },
        { start: 6000, end: 6010 },
      ],
    });
    const { rules, sets, hostSets } = planAllowRules(destinationAllowEntries('p', twoPorts, BY_HOST_SETS), 8);
    const name = hostSetName('d-two', ['db.example.test']);
    expect(rules).toEqual([
      {
        match: { protocol: 'tcp', ports: { start: 5432, end: 5432 }, destinationSet: name },
        action: { kind: 'accept' },
      },
      {
        match: { protocol: 'tcp', ports: { start: 6000, end: 6010 }, destinationSet: name },
        action: { kind: 'accept' },
      },
    ]);
    expect(sets).toEqual([]);
    expect(hostSets).toEqual([{ name, destinationId: 'd-two', hosts: ['db.example.test'] }]);
  });

  it('renders `-m set --match-set dyneg-h-… dst` with the protocol and port', () => {
    const plan = agentPlan([policyTo(db)]);
    const name = setOf('d-db');
    expect(allRuleSpecs(plan).filter((spec) => spec.includes(name))).toEqual([
      expect.stringMatching(new RegExp(`-p tcp -m tcp --dport 5432 -m set --match-set ${name} dst -j ACCEPT$`)),
    ]);
    expect(plan.sets.some((set) => isHostSet(set.name))).toBe(false);
    expect(plan.hostSets).toEqual([{ name, destinationId: 'd-db', hosts: ['db.example.test', 'db2.example.test'] }]);
  });

  it('lists each host set once however many policies and sources use its destination', () => {
    const plan = agentPlan([
      policyTo(db),
      policyTo(db, { id: 'p-space', source: { type: 'space', id: SPACE } }),
      policyTo(mixed),
    ]);
    expect(plan.hostSets?.map((set) => set.destinationId).sort()).toEqual(['d-db', 'd-mixed']);
    const name = setOf('d-db');
    // In the app's chain and in the space's chain.
    expect(allRuleSpecs(plan).filter((spec) => spec.includes(name))).toHaveLength(2);
  });

  it('lists only the host sets of sources that have containers on the cell', () => {
    const plan = agentPlan([policyTo(db, { source: { type: 'app', id: 'elsewhere' } })]);
    expect(plan.hostSets).toBeUndefined();
    expect(plan).toEqual(agentPlan([]));
  });

  it('with many address destinations in a set, still matches the host set in its own rule after them', () => {
    const many = Array.from({ length: 10 }, (_, index) =>
      policyTo(destination(`d-${index}`, { ips: [{ start: `203.0.113.${index}`, end: `203.0.113.${index}` }] })),
    );
    const plan = agentPlan([...many, policyTo(db)]);
    expect(plan.sets).toHaveLength(1);
    const specs = allRuleSpecs(plan).filter((spec) => spec.includes('--dport 5432'));
    expect(specs).toHaveLength(2);
    expect(specs[1]).toContain(setOf('d-db'));
    expect(verdict(plan, { 'd-db': [DB_IP] }, DB_IP, 5432)).toBe('accept');
    expect(verdict(plan, { 'd-db': [DB_IP] }, '203.0.113.4', 5432)).toBe('accept');
    expect(verdict(plan, { 'd-db': [DB_IP] }, OTHER_IP, 5432)).toBe('reject');
  });
});

describe('BY_HOST_SETS: what a cell lets through', () => {
  it.each([
    ['a policies file', agentPlan],
    ['a snapshot', agentPlanFromSnapshot],
  ])('from %s: the resolved address on the port, nothing else', (_, plan) => {
    const built = plan([policyTo(db), policyTo(dns), policyTo(https)]);
    const resolved = { 'd-db': [DB_IP], 'd-dns': ['192.0.2.53'] };
    expect(verdict(built, resolved, DB_IP, 5432)).toBe('accept');
    expect(verdict(built, resolved, DB_IP, 5433)).toBe('reject');
    expect(verdict(built, resolved, DB_IP, 5432, 'udp')).toBe('reject');
    expect(verdict(built, resolved, OTHER_IP, 5432)).toBe('reject');
    expect(verdict(built, resolved, '192.0.2.53', 53, 'udp')).toBe('accept');
    expect(verdict(built, resolved, '192.0.2.53', 53)).toBe('reject');
    // Unresolved (an empty set): nothing.
    expect(verdict(built, {}, DB_IP, 5432)).toBe('reject');
    // https is the proxy's (not wired): nothing, whatever the address.
    expect(verdict(built, { 'd-https': [DB_IP] }, DB_IP, 443)).toBe('reject');
  });

  it('a mixed destination: its ips and its names', () => {
    const plan = agentPlan([policyTo(mixed)]);
    const resolved = { 'd-mixed': [DB_IP] };
    expect(verdict(plan, resolved, FIXED_IP, 5432)).toBe('accept');
    expect(verdict(plan, resolved, DB_IP, 5432)).toBe('accept');
    expect(verdict(plan, resolved, OTHER_IP, 5432)).toBe('reject');
  });

  it('by default (NOT_ENFORCED_BY_NAME, what explain plans with) the same policies allow nothing by name', () => {
    const text = JSON.stringify({ total_egress_policies: 1, egress_policies: [policyTo(db)] });
    const plan = planRules(parsePolicies(text), [container]);
    expect(plan.hostSets).toBeUndefined();
    expect(verdict(plan, { 'd-db': [DB_IP] }, DB_IP, 5432)).toBe('reject');
  });
});

describe('BY_HOST_SETS: policies for one lifecycle or every app (they travel as bindings)', () => {
  const staging: Container = { ...container, ip: '10.255.1.3', lifecycle: 'staging' };
  const walk = (plan: RulePlan, from: Container, ip: string, resolved: readonly string[]) =>
    evaluatePlan(
      plan,
      { source: from.ip, destination: ip, protocol: 'tcp', port: 5432 },
      new Map([[setOf('d-db'), resolved]]),
    ).verdict;

  it('carries the exact names in a rule by host name and enforces them by the host set, per lifecycle', () => {
    const policies = [policyTo(db, { app_lifecycle: 'running' })];
    const encoded = encodeSnapshot(buildSnapshot(7, policies));
    const list = snapshotToPolicyList(decodeSnapshot(encoded.bytes, encoded.sha256));
    expect(list.security_groups?.rules).toEqual([
      {
        protocol: 'tcp',
        ips: [],
        ports: [{ start: 5432, end: 5432 }],
        hosts: ['db.example.test', 'db2.example.test'],
        destination: 'd-db',
      },
    ]);
    const plan = planRules(list, [container, staging], { names: BY_HOST_SETS });
    expect(plan.hostSets?.map((set) => set.destinationId)).toEqual(['d-db']);
    expect(walk(plan, container, DB_IP, [DB_IP])).toBe('accept');
    expect(walk(plan, container, OTHER_IP, [DB_IP])).toBe('reject');
    expect(walk(plan, staging, DB_IP, [DB_IP])).toBe('reject');
    // Planned as explain plans (NOT_ENFORCED_BY_NAME): nothing, and no chain for the binding.
    const unenforced = planRules(list, [container, staging]);
    expect(unenforced.hostSets).toBeUndefined();
    expect(walk(unenforced, container, DB_IP, [DB_IP])).toBe('reject');
  });

  it('for every app, from a policies file too; https names travel for the proxy and open nothing here, tcp wildcards not at all', () => {
    const every = { source: { type: 'default', id: '' } } as const;
    const wildcardTcp = destination('d-w', { hosts: ['*.example.test'] });
    const policies = [policyTo(db, every), policyTo(https, every), policyTo(wildcardTcp, every)];
    // A tcp wildcard (which the API refuses) is not carried: it could not be resolved.
    expect(buildSnapshot(1, policies).security_groups.rules.map((rule) => rule.protocol)).toEqual(['tcp', 'https']);
    // (A policies file refuses a tcp wildcard outright.)
    const plan = agentPlan(policies.slice(0, 2), [container, staging]);
    expect(plan.hostSets?.map((set) => set.destinationId)).toEqual(['d-db']);
    expect(walk(plan, staging, DB_IP, [DB_IP])).toBe('accept');
    expect(walk(plan, container, DB_IP, [DB_IP])).toBe('accept');
  });

  it.each([
    [{ protocol: 'tcp', ips: [], ports: [] }, 'ips: must hold at least one range'],
    [
      { protocol: 'icmp', ips: [], ports: [], hosts: ['a.example.test'], destination: 'd' },
      'only allowed for tcp, udp, http and https',
    ],
    [
      {
        protocol: 'tcp',
        ips: [{ start: '192.0.2.1', end: '192.0.2.1' }],
        ports: [],
        hosts: ['a.example.test'],
        destination: 'd',
      },
      'must be empty in a rule by host name',
    ],
    [{ protocol: 'tcp', ips: [], ports: [], hosts: ['a.example.test'] }, 'destination: is required with hosts'],
    [{ protocol: 'tcp', ips: [], ports: [], hosts: ['*.example.test'], destination: 'd' }, 'must be an exact name'],
    [{ protocol: 'tcp', ips: [], ports: [], hosts: ['10.0.0.1'], destination: 'd' }, 'must not be an IP address'],
    [
      { protocol: 'tcp', ips: [{ start: '192.0.2.1', end: '192.0.2.1' }], ports: [], destination: 'd' },
      'destination: is only allowed with hosts',
    ],
  ])('a rule document %j is refused', (rule, message) => {
    expect(validationMessage(groupRuleDocumentSchema, rule)).toContain(message);
  });
});
