import { describe, expect, it } from 'vitest';
import { parsePolicies } from '../../../agent/source/files.js';
import { prng } from '../../../bench/lib/agent-scenario.js';
import type { GroupBinding, GroupRuleDocument } from '../../../core/domain/snapshot-groups.js';
import {
  type AllowEntry,
  type AllowRules,
  groupByService,
  SharedDestinations,
  type SourceGroups,
  sourceGroups,
} from '../../../core/plan/allow-rules.js';
import type { Container, RulePlan } from '../../../core/plan/model.js';
import { BY_HOST_SETS } from '../../../core/plan/name-enforcement.js';
import { type PlanOptions, planRules } from '../../../core/plan/plan.js';
import { PlanCache, sameValue } from '../../../core/plan/plan-cache.js';

describe('sameValue', () => {
  it('compares JSON-like values by content, keys in any order', () => {
    expect(sameValue({ a: [1, { b: 'x' }], c: null }, { c: null, a: [1, { b: 'x' }] })).toBe(true);
    expect(sameValue([], [])).toBe(true);
    expect(sameValue('1', 1)).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameValue({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(sameValue({ a: undefined }, {})).toBe(false);
    expect(sameValue([1, 2], [2, 1])).toBe(false);
    expect(sameValue([1], { 0: 1 })).toBe(false);
    expect(sameValue({ a: { b: [1, 2, 3] } }, { a: { b: [1, 2, 4] } })).toBe(false);
  });

  it('never calls two different non-plain objects equal', () => {
    expect(sameValue(new Date(0), new Date(0))).toBe(false);
    expect(sameValue(new Map(), new Map())).toBe(false);
  });
});

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick');
  return item;
};
const address = (random: Random, net: string) =>
  `${net}.${Math.floor(random() * 250)}.${1 + Math.floor(random() * 250)}`;

interface V1Policy {
  id: string;
  source: { type: 'app' | 'space'; id: string };
  destination: Record<string, unknown>;
  /** Set: the policy travels as a security-group binding of that lifecycle (withPolicyBindings). */
  app_lifecycle?: 'running' | 'staging';
}

/**
 * A cell's input the planner can share across sources: v1 policies on a few apps and spaces, many of
 * them to a few common destinations, and security groups whose rules hold many scattered addresses
 * (wide enough for a list:set to pay once several sources use them), bound per space, organisation
 * and globally, some logged, one by host name.
 */
interface World {
  policies: V1Policy[];
  rules: GroupRuleDocument[];
  bindings: GroupBinding[];
  containers: Container[];
  options: PlanOptions;
  nextId: number;
}

const APPS = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const SPACES = ['s1', 's2', 's3'];
const SERVICES = [
  { protocol: 'tcp', ports: [{ start: 443, end: 443 }] },
  { protocol: 'tcp', ports: [{ start: 5432, end: 5432 }] },
  { protocol: 'udp', ports: [{ start: 53, end: 53 }] },
  { protocol: 'tcp', ports: [{ start: 8000, end: 8999 }] },
] as const;

function destination(random: Random, id: string, common: boolean): Record<string, unknown> {
  const service = pick(random, SERVICES);
  // Common destinations come from a small pool, so sources share them.
  const start = common ? `198.51.100.${1 + Math.floor(random() * 6) * 20}` : address(random, '203.0');
  const wide = random() < 0.3;
  const end = wide ? start.replace(/\.(\d+)$/, (_, last: string) => `.${Math.min(254, Number(last) + 17)}`) : start;
  return { id: `d-${id}`, name: `dest ${id}`, ips: [{ start, end }], protocol: service.protocol, ports: service.ports };
}

function scatteredRule(random: Random, count: number, log: boolean): GroupRuleDocument {
  const ips = Array.from({ length: count }, () => {
    const ip = address(random, '100.64');
    return { start: ip, end: ip };
  });
  return { protocol: 'tcp', ips, ports: [{ start: 443, end: 443 }], ...(log ? { log: true } : {}) };
}

function container(random: Random, index: number): Container {
  const spaceId = pick(random, SPACES);
  return {
    ip: `10.255.1.${2 + index}`,
    appId: pick(random, APPS),
    spaceId,
    orgId: spaceId === 's3' ? 'o2' : 'o1',
    lifecycle: random() < 0.8 ? 'running' : 'staging',
  };
}

function newWorld(random: Random): World {
  const world: World = { policies: [], rules: [], bindings: [], containers: [], options: {}, nextId: 0 };
  for (let index = 0; index < 60; index += 1) addPolicy(random, world);
  for (let index = 0; index < 6; index += 1) world.rules.push(scatteredRule(random, 40 + index * 10, index === 5));
  world.rules.push({
    protocol: 'tcp',
    ips: [],
    ports: [{ start: 443, end: 443 }],
    hosts: ['api.example.com'],
    destination: 'd-names',
  });
  world.bindings = [
    ['space', 'running', 's1', [0, 1]],
    ['space', 'running', 's2', [0, 1, 2]],
    ['space', 'staging', 's3', [3]],
    ['organization', 'running', 'o1', [2, 4]],
    ['global', 'running', '', [6]],
  ];
  for (let index = 0; index < 8; index += 1) world.containers.push(container(random, index));
  return world;
}

function addPolicy(random: Random, world: World): void {
  const id = `p-${String(world.nextId).padStart(4, '0')}`;
  world.nextId += 1;
  const source =
    random() < 0.75
      ? { type: 'app' as const, id: pick(random, APPS) }
      : { type: 'space' as const, id: pick(random, SPACES) };
  world.policies.push({ id, source, destination: destination(random, id, random() < 0.6) });
}

/** One random change of the kind a cell sees between two syncs. */
function mutate(random: Random, world: World): string {
  const kind = Math.floor(random() * 13);
  switch (kind) {
    case 0: {
      const policy = pick(random, world.policies);
      policy.destination = destination(random, policy.id, random() < 0.6);
      return `policy ${policy.id} destination`;
    }
    case 1: {
      world.policies.splice(Math.floor(random() * world.policies.length), 1);
      return 'policy removed';
    }
    case 2:
      addPolicy(random, world);
      return 'policy added';
    case 3: {
      const policy = pick(random, world.policies);
      policy.source = { type: 'app', id: pick(random, APPS) };
      return `policy ${policy.id} moved`;
    }
    case 4: {
      const index = Math.floor(random() * 6);
      world.rules[index] = scatteredRule(random, 30 + Math.floor(random() * 60), random() < 0.2);
      return `rule ${index} addresses`;
    }
    case 5: {
      // A binding more or less: the uses of its rules' destinations change, and with them what is listed.
      if (random() < 0.5 && world.bindings.length > 1) {
        world.bindings.splice(Math.floor(random() * world.bindings.length), 1);
        return 'binding removed';
      }
      const indexes = [Math.floor(random() * 6), Math.floor(random() * 6)];
      world.bindings.push(['space', 'running', pick(random, SPACES), [...new Set(indexes)]]);
      return 'binding added';
    }
    case 6: {
      if (world.containers.length > 1 && random() < 0.5) {
        world.containers.splice(Math.floor(random() * world.containers.length), 1);
        return 'container removed';
      }
      const used = new Set(world.containers.map((each) => each.ip));
      let index = 0;
      while (used.has(`10.255.1.${2 + index}`)) index += 1;
      world.containers.push(container(random, index));
      return 'container added';
    }
    case 7:
      world.options = { ...world.options, setThreshold: random() < 0.5 ? 4 : 8 };
      return `threshold ${world.options.setThreshold}`;
    case 8:
      world.options =
        random() < 0.5
          ? { ...world.options, denyLog: 'off' }
          : { ...world.options, denyLog: { rate: { count: 1, per: 'second' }, group: 7 } };
      return 'deny log';
    case 9: {
      const index = Math.floor(random() * 6);
      const rule = world.rules[index];
      if (rule !== undefined && rule.hosts === undefined) world.rules[index] = { ...rule, log: !(rule.log ?? false) };
      return `rule ${index} log`;
    }
    case 10: {
      const policy = pick(random, world.policies);
      if (policy.app_lifecycle === undefined) policy.app_lifecycle = random() < 0.5 ? 'running' : 'staging';
      else delete policy.app_lifecycle;
      return `policy ${policy.id} lifecycle ${policy.app_lifecycle ?? 'all'}`;
    }
    case 11: {
      const hosts = random() < 0.5 ? ['api.example.com'] : ['api.example.com', 'db.example.com'];
      world.rules[6] = {
        protocol: random() < 0.5 ? 'tcp' : 'udp',
        ips: [],
        ports: [{ start: 443, end: 443 }],
        hosts,
        destination: 'd-names',
      };
      return 'name rule';
    }
    default:
      return 'nothing';
  }
}

/** What a cell's agent gets: parsed from text every time, so nothing is shared with an earlier input. */
function planned(world: World, cache?: PlanCache): RulePlan {
  const text = JSON.stringify({
    total_egress_policies: world.policies.length,
    egress_policies: world.policies,
    security_groups: { rules: world.rules, bindings: world.bindings },
  });
  const containers = world.containers.map((each) => ({ ...each }));
  return planRules(
    parsePolicies(text),
    containers,
    { ...world.options, names: BY_HOST_SETS },
    cache === undefined ? {} : { cache },
  );
}

/** One source's entries for the PlanCache unit tests: one range to every protocol. */
const ENTRIES: AllowEntry[] = [
  { id: 'p1', destination: { ips: [{ start: '100.64.0.1', end: '100.64.0.9' }], ports: [], protocol: 'all' } },
];
/** Allow rules told apart by `label`: what the cache returned, made now or kept. */
const made = (label: string): AllowRules => ({
  rules: [{ match: { note: label }, action: { kind: 'none' } }],
  sets: [],
  hostSets: [],
});

describe('planRules with a PlanCache', () => {
  it('plans exactly what it plans without one, over random sequences of changes', () => {
    let listsSeen = 0;
    let changesSeen = 0;
    for (let seed = 1; seed <= 12; seed += 1) {
      const random = prng(seed);
      const world = newWorld(random);
      const cache = new PlanCache();
      let before = planned(world, cache);
      for (let step = 0; step < 40; step += 1) {
        const change = mutate(random, world);
        const fresh = planned(world);
        const cached = planned(world, cache);
        expect(cached, `seed ${seed} step ${step}: ${change}`).toEqual(fresh);
        if (fresh.sets.some((set) => set.type === 'list:set')) listsSeen += 1;
        if (JSON.stringify(fresh) !== JSON.stringify(before)) changesSeen += 1;
        before = fresh;
      }
    }
    // The sequences exercise what the cache must notice: changed plans, and sources listing shared sets.
    expect(changesSeen).toBeGreaterThan(300);
    expect(listsSeen).toBeGreaterThan(50);
  });

  it('reuses a source whose input is unchanged: its rules are the very array of the last plan', () => {
    const world = newWorld(prng(99));
    const cache = new PlanCache();
    const first = planned(world, cache);
    const second = planned(world, cache);
    expect(second).toEqual(first);
    const reused = second.chains.filter((chain) => first.chains.some((other) => other.rules === chain.rules));
    expect(reused.length).toBeGreaterThan(0);
  });

  it('plans a source again when what its rules depend on changed, though its input did not', () => {
    const sources = (cache: PlanCache) =>
      cache.groups('app:a', ENTRIES, () => sourceGroups(groupByService(ENTRIES), 8));
    const cache = new PlanCache();
    cache.begin(8, 1);
    sources(cache);
    expect(cache.rules('app:a', new SharedDestinations(3), () => made('first'))).toEqual(made('first'));
    cache.end();
    cache.begin(8, 1);
    sources(cache);
    expect(cache.rules('app:a', new SharedDestinations(3), () => made('again'))).toEqual(made('first'));
    cache.end();
    cache.begin(8, 1);
    sources(cache);
    // The cost of a reference decides what is listed (SharedDestinations.gain).
    expect(cache.rules('app:a', new SharedDestinations(4), () => made('dearer references'))).toEqual(
      made('dearer references'),
    );
    cache.end();
    cache.begin(4, 1);
    sources(cache);
    expect(cache.rules('app:a', new SharedDestinations(4), () => made('new threshold'))).toEqual(made('new threshold'));
  });

  it('plans a source again when another source starts using one of its set destinations', () => {
    // A threshold of 1: the one range is matched by a set, so its uses count.
    const sources = (cache: PlanCache) =>
      cache.groups('app:a', ENTRIES, () => sourceGroups(groupByService(ENTRIES), 1));
    const usedBy = (source: SourceGroups, uses: number): SharedDestinations => {
      const shared = new SharedDestinations(3);
      for (const group of source.withSets)
        for (const destination of group.destinations) shared.of(destination).uses = uses;
      return shared;
    };
    const cache = new PlanCache();
    cache.begin(1, 1);
    const source = sources(cache);
    expect(source.withSets).toHaveLength(1);
    expect(cache.rules('app:a', usedBy(source, 1), () => made('alone'))).toEqual(made('alone'));
    cache.end();
    cache.begin(1, 1);
    expect(cache.rules('app:a', usedBy(sources(cache), 1), () => made('again'))).toEqual(made('alone'));
    cache.end();
    cache.begin(1, 1);
    // Two users: the destination may now be listed rather than copied (SharedDestinations.gain).
    expect(cache.rules('app:a', usedBy(sources(cache), 2), () => made('shared'))).toEqual(made('shared'));
  });
});
