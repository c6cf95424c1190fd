import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  formatRecord,
  inputDigest,
  type KernelSummary,
  PLAN_LAYOUT,
  parseRootChain,
  parseSetHeaders,
  recordHolds,
  rootDigest,
  setsDigest,
} from '../../agent/applied-record.js';
import { renderChain, renderSetCreate } from '../../agent/render.js';
import { parsePolicies } from '../../agent/source/files.js';
import { parseSave } from '../../agent/table.js';
import type { Container } from '../../core/plan/model.js';
import { BY_HOST_SETS } from '../../core/plan/name-enforcement.js';
import { ROOT_CHAIN } from '../../core/plan/names.js';
import { planRules } from '../../core/plan/plan.js';
import { app, icmp, policyList, space, tcp, udp } from './fixtures.js';

const first: Container = { ip: '10.255.1.2', appId: 'app-a', spaceId: 'space-1', lifecycle: 'running' };
const second: Container = { ip: '10.255.1.3', appId: 'app-b', spaceId: 'space-1', lifecycle: 'running' };
const containers = [first, second];
const input = { policies: 'abc', containers, options: { overlayCidr: '10.255.0.0/16', unknownSources: 'reject' } };

describe('inputDigest', () => {
  it('changes with the policies, any container field and any option, not with the containers order', () => {
    const base = inputDigest(input);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(inputDigest({ ...input, containers: [...containers].reverse() })).toBe(base);
    expect(inputDigest({ ...input, options: { unknownSources: 'reject', overlayCidr: '10.255.0.0/16' } })).toBe(base);
    const variants = [
      { ...input, policies: 'abd' },
      { ...input, containers: [first] },
      { ...input, containers: [{ ...first, ip: '10.255.1.9' }, second] },
      { ...input, containers: [{ ...first, appId: 'app-z' }, second] },
      { ...input, containers: [{ ...first, spaceId: 'space-z' }, second] },
      { ...input, containers: [{ ...first, orgId: 'org-z' }, second] },
      { ...input, containers: [{ ...first, lifecycle: 'staging' as const }, second] },
      { ...input, options: { ...input.options, unknownSources: 'allow' } },
      { ...input, options: { ...input.options, setThreshold: 8 } },
    ];
    const digests = variants.map((variant) => inputDigest(variant));
    expect(new Set([base, ...digests]).size).toBe(variants.length + 1);
  });
});

const record = {
  input: 'a'.repeat(16),
  root: 'b'.repeat(16),
  sets: 'c'.repeat(16),
  size: { chains: 3, rules: 12, sets: 1 },
};

describe('the record rule', () => {
  it('reads back what it wrote, and the ids of the other root rules in order', () => {
    const saved = [
      '-N dyneg-FORWARD',
      `-A dyneg-FORWARD -m comment --comment "dyneg:0000000000000001" -m comment --comment "${formatRecord(record)}"`,
      '-A dyneg-FORWARD -d 10.255.0.0/16 -m comment --comment "dyneg:00000000000000aa" -j RETURN',
      '-A dyneg-FORWARD -s 10.255.1.0/24 -m comment --comment dyneg:00000000000000bb -j dyneg-d-1',
      '-A dyneg-FORWARD -s 10.9.9.9/32 -j ACCEPT',
    ].join('\n');
    expect(parseRootChain(saved)).toEqual({
      record,
      rootRuleIds: ['00000000000000aa', '00000000000000bb', null],
      rootChain: ['0000000000000001', '00000000000000aa', '00000000000000bb', null],
    });
    // As a full read of the table gives the chain.
    const whole = parseSave(`*filter\n:${ROOT_CHAIN} - [0:0]\n${saved.split('\n').slice(1).join('\n')}\nCOMMIT\n`);
    expect(parseRootChain(saved).rootChain).toEqual(whole.chains.get(ROOT_CHAIN));
  });

  it('is absent from a root chain without one, and a malformed record is not taken for one', () => {
    expect(parseRootChain('-A dyneg-FORWARD -m comment --comment "dyneg:0a" -j RETURN').record).toBeUndefined();
    const short = `-A dyneg-FORWARD -m comment --comment "dyneg-record:${'a'.repeat(15)}.${'b'.repeat(16)}.${'c'.repeat(16)}.1.2.3"`;
    expect(parseRootChain(short).record).toBeUndefined();
  });
});

describe('parseSetHeaders', () => {
  it("keeps the sync's owned sets with their sizes, and the host-name sets apart", () => {
    const text = [
      'Name: dyneg-n-1',
      'Type: hash:net',
      'Header: family inet hashsize 1024 maxelem 65536',
      'Number of entries: 12',
      'Members:',
      '',
      'Name: operator-set',
      'Number of entries: 4',
      '',
      'Name: dyneg-n-2',
      'Number of entries: 0',
      '',
      // A host-name set (agent/names/) changes size with DNS answers: not part of the sync's record.
      'Name: dyneg-h-0123456789abcdef',
      'Number of entries: 3',
    ].join('\n');
    const headers = parseSetHeaders(text);
    expect([...headers.sizes]).toEqual([
      ['dyneg-n-1', 12],
      ['dyneg-n-2', 0],
    ]);
    expect(headers.hostSets).toEqual(['dyneg-h-0123456789abcdef']);
  });
});

describe('recordHolds', () => {
  const rootRuleIds = ['00000000000000aa', '00000000000000bb'];
  const setSizes = new Map([['dyneg-n-1', 12]]);
  const holding: KernelSummary = {
    hooked: true,
    hookRules: ['-A FORWARD -j dyneg-FORWARD'],
    forwardRules: ['-A FORWARD -j dyneg-FORWARD'],
    rootChain: [null, ...rootRuleIds],
    record: { ...record, root: rootDigest(rootRuleIds), sets: setsDigest(setSizes) },
    rootRuleIds,
    setSizes,
    hostSets: [],
  };

  it('holds when the hook, the input, the root rules and the set sizes all match', () => {
    expect(recordHolds(holding, record.input)).toBe(true);
  });

  it.each([
    ['another input', holding, 'd'.repeat(16)],
    ['no hook', { ...holding, hooked: false }, record.input],
    ['no record', { ...holding, record: undefined }, record.input],
    ['a root rule missing', { ...holding, rootRuleIds: rootRuleIds.slice(1) }, record.input],
    ['root rules reordered', { ...holding, rootRuleIds: [...rootRuleIds].reverse() }, record.input],
    ['a set of another size', { ...holding, setSizes: new Map([['dyneg-n-1', 11]]) }, record.input],
    ['an extra set', { ...holding, setSizes: new Map([...setSizes, ['dyneg-n-2', 1]]) }, record.input],
  ])('does not hold with %s', (_case, summary, digest) => {
    expect(recordHolds(summary, digest)).toBe(false);
  });
});

describe('PLAN_LAYOUT', () => {
  /** The layout and a digest of every rule and set the plan renders: what a pin compares. */
  const pinned = (plan: ReturnType<typeof planRules>) => {
    const rendered = [
      ...plan.chains.flatMap((chain) => renderChain(chain).map((rule) => `${chain.name} ${rule.body}`)),
      ...plan.sets.flatMap((set) => renderSetCreate(set)),
    ].join('\n');
    return { layout: PLAN_LAYOUT, rendering: createHash('sha256').update(rendered).digest('hex').slice(0, 16) };
  };

  // A plan touching every kind of rule and set: app and space sources, tcp/udp/icmp, an iprange, a set,
  // a destination two sources share (a list:set), the deny log and the unknown-source catch-all.
  const pinnedPolicies = parsePolicies(
    JSON.stringify(
      policyList([
        // Three destinations of 28-32 entries app-a, app-b and space-1 use: shared (allow-rules.ts).
        ...[
          ['85.85.85.85', '170.170.170.170'],
          ['21.85.85.85', '42.170.170.170'],
          ['5.85.85.85', '10.170.170.170'],
        ].flatMap(([start = '', end = ''], index) => [
          tcp(`w${index}`, app('app-a'), [start, end], [443, 443]),
          tcp(`v${index}`, app('app-b'), [start, end], [443, 443]),
          tcp(`x${index}`, space('space-1'), [start, end], [443, 443]),
        ]),
        // With the q policies below, app-a's own set: .1-.6 is .0/29 less two nomatch holes.
        tcp('p1', app('app-a'), ['198.51.100.1', '198.51.100.6'], [443, 443]),
        udp('p3', app('app-a'), ['192.0.2.1', '192.0.2.1'], [53, 53]),
        icmp('p4', app('app-b'), ['192.0.2.9', '192.0.2.9'], 8, 0),
        ...Array.from({ length: 8 }, (_, index) =>
          tcp(`q${index}`, app('app-a'), [`203.0.113.${index}`, `203.0.113.${index}`], [443, 443]),
        ),
        ...Array.from({ length: 8 }, (_, index) =>
          tcp(`r${index}`, space('space-1'), [`203.0.113.${index + 50}`, `203.0.113.${index + 50}`], [443, 443]),
        ),
        ...Array.from({ length: 8 }, (_, index) =>
          tcp(`u${index}`, app('app-b'), [`203.0.113.${index + 100}`, `203.0.113.${index + 100}`], [443, 443]),
        ),
        // Two single-port services of app-a's own: one hash:net,port set.
        ...Array.from({ length: 8 }, (_, index) =>
          tcp(
            `t${index}`,
            app('app-a'),
            [`203.0.113.${2 * index + 150}`, `203.0.113.${2 * index + 150}`],
            [5432, 5432],
          ),
        ),
        ...Array.from({ length: 8 }, (_, index) =>
          udp(
            `k${index}`,
            app('app-a'),
            [`203.0.113.${2 * index + 150}`, `203.0.113.${2 * index + 151}`],
            [8125, 8125],
          ),
        ),
      ]),
    ),
  );

  it('is bumped whenever the same inputs would render different rules or sets', () => {
    const plan = planRules(pinnedPolicies, containers);
    expect(plan.sets.map((set) => set.type).sort()).toEqual([
      ...Array.from({ length: 6 }, () => 'hash:net'),
      'hash:net,port',
      ...Array.from({ length: 3 }, () => 'list:set'),
    ]);
    expect(plan.sets.filter((set) => set.nomatch !== undefined)).not.toEqual([]);
    // Changed the plan or its rendering on purpose? Bump PLAN_LAYOUT (applied-record.ts) and pin both anew.
    expect(pinned(plan)).toEqual({ layout: 11, rendering: 'b90f00dd14558821' });
  });

  it('is bumped whenever security groups (a logged rule too) or deny networks would render differently', () => {
    const withGroups = {
      ...pinnedPolicies,
      security_groups: {
        rules: [
          { protocol: 'all', ips: [{ start: '203.0.113.0', end: '203.0.113.255' }], ports: [] },
          {
            protocol: 'udp',
            ips: [{ start: '192.0.2.1', end: '192.0.2.5' }],
            ports: [{ start: 53, end: 53 }],
            log: true,
          },
          { protocol: 'icmp', ips: [{ start: '192.0.2.9', end: '192.0.2.9' }], ports: [], icmp_type: 3, icmp_code: -1 },
        ],
        bindings: [
          ['global', 'running', '', [0]],
          ['organization', 'running', 'org-1', [2]],
          ['space', 'staging', 'space-1', [1]],
        ],
      } as const,
    };
    const plan = planRules(
      withGroups,
      [
        { ...first, orgId: 'org-1' },
        { ...second, lifecycle: 'staging' },
      ],
      { denyNetworks: { always: ['169.254.169.254/32'], running: ['10.0.0.0/8'], staging: [] } },
    );
    expect(pinned(plan)).toEqual({ layout: 11, rendering: 'a11be241474df730' });
  });

  it('is bumped whenever destinations with host names would render differently (the agent enforces them by host set)', () => {
    const byName = (id: string, protocol: string, hosts: string[], ips: { start: string; end: string }[] = []) => ({
      id,
      source: { type: 'app', id: 'app-a' },
      destination: { id: `dest-${id}`, name: id, ips, hosts, ports: [{ start: 5432, end: 5432 }], protocol },
    });
    const withHosts = parsePolicies(
      JSON.stringify(
        policyList([
          byName('h1', 'tcp', ['db.example.test']),
          byName('h2', 'udp', ['ns.example.test'], [{ start: '192.0.2.1', end: '192.0.2.1' }]),
          byName('h3', 'https', ['api.example.test', '*.example.org']),
        ] as never),
      ),
    );
    const plan = planRules(withHosts, containers, { names: BY_HOST_SETS });
    expect(plan.hostSets?.map((set) => set.destinationId).sort()).toEqual(['dest-h1', 'dest-h2']);
    expect(pinned(plan)).toEqual({ layout: 11, rendering: 'a403a979749d7396' });
  });
});
