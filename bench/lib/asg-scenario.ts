// The security-group benchmark's workload: a cell's containers and cloud.gov-like security groups,
// deterministic (seeded), as the agent gets them in a snapshot (the v1 list plus a `security_groups`
// section built the way the fan-out builds it, core/domain/snapshot-groups.ts).
import type { SecurityGroup, SecurityGroupRule } from '../../core/domain/security-group.js';
import { buildSecurityGroupsSection } from '../../core/domain/snapshot-groups.js';
import { containerIp, prng } from './agent-scenario.js';

export interface AsgScenarioSize {
  readonly containers: number;
  readonly spaces: number;
  readonly orgs: number;
  /** Space-bound groups, each bound to one space (a few to two), 5-20 rules each. */
  readonly spaceGroups: number;
  /** One in this many space-bound groups has one rule with a `bigList`-entry comma-list destination. */
  readonly bigListEvery: number;
  readonly bigList: number;
  /** One in this many containers is staging; the others run. */
  readonly stagingEvery: number;
}

export const ASG_DEFAULT_SIZE: AsgScenarioSize = {
  containers: 250,
  spaces: 20,
  orgs: 4,
  spaceGroups: 200,
  bigListEvery: 4,
  bigList: 1000,
  stagingEvery: 10,
};

export interface AsgScenario {
  /** The policies file: an empty v1 list with the `security_groups` section beside it. */
  readonly policiesText: string;
  readonly containersText: string;
  /** The same, with one rule of one space-bound group changed (a new destination). */
  readonly changedText: string;
  readonly groups: number;
  readonly groupRules: number;
  /** Comma-list entries over every rule's destination (the groups as written to the API). */
  readonly destinationEntries: number;
  readonly staging: number;
}

/** cloud.gov's public_networks_egress: everything but RFC 1918 and link-local, as five ranges. */
const PUBLIC_NETWORKS = [
  '0.0.0.0-9.255.255.255',
  '11.0.0.0-169.253.255.255',
  '169.255.0.0-172.15.255.255',
  '172.32.0.0-192.167.255.255',
  '192.169.0.0-255.255.255.255',
];

const PORTS = ['443', '80,443', '5432', '3306', '6379', '8000-8999', '9092-9094', '27017', '25,587', '1521'];

const guid = (kind: string, index: number): string => `${kind}-0000-4000-8000-${String(index).padStart(12, '0')}`;

function group(
  index: number,
  name: string,
  rules: SecurityGroupRule[],
  bindings: SecurityGroup['bindings'],
  global: SecurityGroup['globallyEnabled'] = { running: false, staging: false },
): SecurityGroup {
  return {
    guid: guid('asg', index),
    name,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    globallyEnabled: global,
    rules,
    bindings,
  };
}

const unbound: SecurityGroup['bindings'] = {
  running: { space: [], organization: [] },
  staging: { space: [], organization: [] },
};

/** A routable address in 100.64.0.0-126.255.255.255 (never the overlay, never RFC 1918). */
function address(random: () => number): number[] {
  return [
    100 + Math.floor(random() * 27),
    Math.floor(random() * 256),
    Math.floor(random() * 256),
    1 + Math.floor(random() * 254),
  ];
}

function destination(random: () => number): string {
  const [a, b, c, d] = address(random);
  const kind = random();
  if (kind < 0.45) return `${a}.${b}.${c}.${d}`;
  if (kind < 0.7) return `${a}.${b}.${c}.0/${24 + Math.floor(random() * 5)}`;
  if (kind < 0.85) return `${a}.${b}.${c}.${Math.min(d ?? 1, 200)}-${a}.${b}.${c}.${Math.min(d ?? 1, 200) + 20}`;
  // A short list: a few hosts of one service.
  return Array.from({ length: 2 + Math.floor(random() * 4) }, () => address(random).join('.')).join(',');
}

/** `count` entries: mostly single addresses, one in five a /28 (a CDN or partner allow list). */
function bigList(random: () => number, count: number): string {
  return Array.from({ length: count }, () => {
    const [a, b, c, d] = address(random);
    return random() < 0.2 ? `${a}.${b}.${c}.${(d ?? 0) & 0xf0}/28` : `${a}.${b}.${c}.${d}`;
  }).join(',');
}

function spaceGroupRules(random: () => number, withBigList: boolean, bigListSize: number): SecurityGroupRule[] {
  const count = 5 + Math.floor(random() * 16);
  const rules: SecurityGroupRule[] = [];
  for (let r = 0; r < count; r += 1) {
    const kind = random();
    const to = destination(random);
    if (kind < 0.75) rules.push({ protocol: 'tcp', destination: to, ports: PORTS[r % PORTS.length] ?? '443' });
    else if (kind < 0.9) rules.push({ protocol: 'udp', destination: to, ports: random() < 0.5 ? '53' : '8125' });
    else if (kind < 0.95) rules.push({ protocol: 'icmp', destination: to, type: 8, code: -1 });
    else rules.push({ protocol: 'all', destination: to });
  }
  if (withBigList) rules[0] = { protocol: 'tcp', destination: bigList(random, bigListSize), ports: '443' };
  return rules;
}

/** One rule of one space-bound group gets a new destination; everything else stays. */
const CHANGED_GROUP = 7;
const CHANGED_RULE = 2;

export function asgScenario(size: AsgScenarioSize = ASG_DEFAULT_SIZE): AsgScenario {
  const random = prng(size.containers * 7919 + size.spaceGroups * 31 + size.bigList);
  const spaces = Array.from({ length: size.spaces }, (_, s) => guid('space', s));
  const orgOf = (space: number): string => guid('org', space % size.orgs);

  const store: Record<string, unknown> = {};
  let staging = 0;
  for (let c = 0; c < size.containers; c += 1) {
    const space = c % size.spaces;
    // Spread over the spaces (c alone would put every staging container in the same two spaces).
    const isStaging = (c + Math.floor(c / size.spaces)) % size.stagingEvery === 0;
    if (isStaging) staging += 1;
    store[`handle-${c}`] = {
      handle: `handle-${c}`,
      ip: containerIp(c),
      metadata: {
        // About three instances per app.
        app_id: guid('app', Math.floor(c / 3)),
        space_id: spaces[space],
        org_id: orgOf(space),
        ...(isStaging ? { container_workload: 'staging' } : {}),
      },
    };
  }

  const groups: SecurityGroup[] = [
    group(
      0,
      'public_networks_egress',
      PUBLIC_NETWORKS.map((to) => ({ protocol: 'all', destination: to })),
      unbound,
      { running: true, staging: true },
    ),
    group(
      1,
      'dns',
      [
        { protocol: 'udp', destination: '0.0.0.0/0', ports: '53' },
        { protocol: 'tcp', destination: '0.0.0.0/0', ports: '53' },
      ],
      unbound,
      { running: true, staging: true },
    ),
    group(
      2,
      'ntp',
      [
        {
          protocol: 'udp',
          destination: '129.6.15.28,129.6.15.29,132.163.96.1,132.163.97.1,216.239.35.0',
          ports: '123',
        },
      ],
      unbound,
      { running: true, staging: false },
    ),
  ];
  for (let g = 0; g < size.spaceGroups; g += 1) {
    const bound = [spaces[g % size.spaces] ?? ''];
    // One in ten is shared by a second space.
    if (g % 10 === 9) bound.push(spaces[(g + 7) % size.spaces] ?? '');
    const rules = spaceGroupRules(random, g % size.bigListEvery === 0, size.bigList);
    const bindings: SecurityGroup['bindings'] = {
      running: { space: [...bound].sort(), organization: [] },
      // One in four also applies while staging (package mirrors and the like).
      staging: { space: (g + Math.floor(g / size.spaces)) % 4 === 1 ? [...bound].sort() : [], organization: [] },
    };
    groups.push(group(3 + g, `space-group-${g}`, rules, bindings));
  }

  const text = (list: readonly SecurityGroup[]) =>
    JSON.stringify({
      total_egress_policies: 0,
      egress_policies: [],
      security_groups: buildSecurityGroupsSection(list),
    });
  const changed = groups.map((entry, index) => {
    if (index !== 3 + CHANGED_GROUP) return entry;
    const rules = entry.rules.map((rule, r) => (r === CHANGED_RULE ? { ...rule, destination: '192.0.2.77' } : rule));
    return { ...entry, rules };
  });
  const groupRules = groups.reduce((sum, entry) => sum + entry.rules.length, 0);
  const destinationEntries = groups.reduce(
    (sum, entry) => sum + entry.rules.reduce((n, rule) => n + rule.destination.split(',').length, 0),
    0,
  );
  return {
    policiesText: text(groups),
    containersText: JSON.stringify(store),
    changedText: text(changed),
    groups: groups.length,
    groupRules,
    destinationEntries,
    staging,
  };
}
