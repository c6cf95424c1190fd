// The dry run's readable account: each chain touched named by whom it serves, under each source chain
// the destinations added and removed (against a scripted kernel holding an earlier plan), the hook,
// the sets; the entry chain only when more than its record rule changes.
import { describe, expect, it } from 'vitest';
import { describeChanges, describeDryRun, MAX_DESTINATION_LINES } from '../../agent/dry-run-text.js';
import { renderChain, renderSetCreate } from '../../agent/render.js';
import type { CommandRunner } from '../../agent/runner.js';
import { parsePolicies } from '../../agent/source/files.js';
import { type SyncResult, sync, withRecord } from '../../agent/sync.js';
import type { PoliciesWithGroups } from '../../core/domain/snapshot-groups.js';
import type { Container } from '../../core/plan/model.js';
import { BY_HOST_SETS } from '../../core/plan/name-enforcement.js';
import { appChain, containerChain, groupChain, ROOT_CHAIN, spaceChain } from '../../core/plan/names.js';
import { type PlanOptions, planRules } from '../../core/plan/plan.js';

const container = { ip: '10.255.1.2', appId: 'app-a', spaceId: 'space-1', lifecycle: 'running' } as const;
const stats = {
  chains: 0,
  rules: 0,
  sets: 1,
  chainsCreated: 0,
  chainsDeleted: 1,
  rulesWritten: 2,
  rulesDeleted: 4,
  setsCreated: 1,
  setsDestroyed: 2,
};
const result: SyncResult = {
  payload: '*filter\n-R x 1 y\nCOMMIT\n',
  setsBefore: ['create dyneg-n-1 hash:net family inet'],
  setsAfter: [],
  changed: true,
  hookInserted: false,
  chainChanges: [
    { chain: appChain('app-a'), action: 'edited', rulesWritten: 2, rulesDeleted: 1 },
    { chain: spaceChain('space-1'), action: 'rewritten', rulesWritten: 0, rulesDeleted: 0 },
    { chain: containerChain('10.255.1.9'), action: 'deleted', rulesWritten: 0, rulesDeleted: 3 },
  ],
  stats,
};

describe('describeChanges', () => {
  it('names apps, spaces and departed containers, only what changes', () => {
    expect(describeChanges(result, [container])).toBe(
      [
        '# would change:',
        `# edited ${appChain('app-a')}: app app-a (allow list); 2 rules written, 1 rules deleted`,
        `# rewritten ${spaceChain('space-1')}: space space-1 (allow list)`,
        `# deleted ${containerChain('10.255.1.9')}: no longer on this cell; 3 rules deleted`,
        '# ipsets: 1 created, 2 destroyed',
        '#',
        '',
      ].join('\n'),
    );
  });

  it('says nothing when nothing changes; the payload part is kept as it was', () => {
    const unchanged = { ...result, payload: undefined, setsBefore: [], changed: false, chainChanges: [] };
    expect(describeDryRun(unchanged, [container])).toBe('# no changes\n');
    expect(describeDryRun(result, [container])).toMatch(
      /#\n# ipset: create dyneg-n-1 hash:net family inet\n\*filter\n-R x 1 y\nCOMMIT\n$/,
    );
  });
});

/** Input digests (applied-record.ts) of the kernel's apply and of the dry run. */
const BEFORE = '0123456789abcdef';
const NOW = 'fedcba9876543210';

/** A v1 policy of app-a: tcp to one address and port, its destination named and with an id. */
function named(id: string, destinationId: string, name: string, ip: string, port: number) {
  return {
    id,
    source: { type: 'app', id: 'app-a' },
    destination: {
      id: destinationId,
      name,
      ips: [{ start: ip, end: ip }],
      ports: [{ start: port, end: port }],
      protocol: 'tcp',
    },
  };
}

function document(policies: readonly unknown[], groups?: unknown): PoliciesWithGroups {
  const list = { total_egress_policies: policies.length, egress_policies: policies };
  return parsePolicies(JSON.stringify(groups === undefined ? list : { ...list, security_groups: groups }));
}

const containers: Container[] = [container];

/**
 * A kernel holding what an apply of `policies` left (its record rule included), hooked, every set
 * with its members: what a dry run reads back.
 */
function kernelHolding(policies: PoliciesWithGroups, options: PlanOptions = {}, held = containers): CommandRunner {
  const plan = withRecord(planRules(policies, held, { ...options, names: BY_HOST_SETS }), BEFORE);
  const save = [
    '*filter',
    ':FORWARD ACCEPT [0:0]',
    ...plan.chains.map((chain) => `:${chain.name} - [0:0]`),
    `-A FORWARD -m comment --comment "dyneg:hook" -j ${ROOT_CHAIN}`,
    ...plan.chains.flatMap((chain) => renderChain(chain).map((rule) => `-A ${chain.name} ${rule.body}`)),
    'COMMIT',
    '',
  ].join('\n');
  const sets = plan.sets.flatMap((set) => renderSetCreate(set).map((line) => `${line}\n`)).join('');
  return async (command, args) => {
    if (command === 'iptables-save') return { code: 0, stdout: save, stderr: '' };
    if (command === 'ipset' && args[0] === 'save') return { code: 0, stdout: sets, stderr: '' };
    throw new Error(`a dry run runs no ${command} ${args.join(' ')}`);
  };
}

/** A dry run of `now` against a kernel holding `before`. */
async function dryRun(before: PoliciesWithGroups, now: PoliciesWithGroups, options: PlanOptions = {}) {
  return sync(now, containers, { ...options, dryRun: true, record: NOW, runner: kernelHolding(before) });
}

const WEB = named('p1', 'd-1', 'web', '198.51.100.1', 443);
const OLD_DB = named('p7', 'd-7', 'old-db', '198.51.100.7', 5432);
const REDIS = named('p42', 'd-42', 'redis-cache', '198.51.100.9', 6379);
const APP_A = appChain('app-a');
const UNNAMED = '# (a removed line without a name: the kernel keeps addresses, not names)';

describe('describeChanges: destinations', () => {
  it('names what a change adds; what it removes by protocol, port and address; no entry-chain line for the record alone', async () => {
    const result = await dryRun(document([WEB, OLD_DB]), document([WEB, REDIS]));
    expect(describeChanges(result, containers)).toBe(
      [
        '# would change:',
        `# edited ${APP_A}: app app-a (allow list); 1 rules written`,
        '#   + redis-cache (d-42): tcp 6379 to 198.51.100.9',
        '#   - tcp 5432 to 198.51.100.7',
        UNNAMED,
        '#',
        '',
      ].join('\n'),
    );
  });

  it("names what goes from the last apply's policies, when the caller has them", async () => {
    const before = document([WEB, OLD_DB]);
    const result = await dryRun(before, document([WEB, REDIS]));
    expect(describeChanges(result, containers, before)).toBe(
      [
        '# would change:',
        `# edited ${APP_A}: app app-a (allow list); 1 rules written`,
        '#   + redis-cache (d-42): tcp 6379 to 198.51.100.9',
        '#   - old-db (d-7): tcp 5432 to 198.51.100.7',
        '#',
        '',
      ].join('\n'),
    );
  });

  it('tells a destination added to a set from the set it replaces, and a regrouping from a change', async () => {
    const many = Array.from({ length: 9 }, (_, k) =>
      named(`p${k + 1}`, `d-${k + 1}`, `svc-${k + 1}`, `198.51.100.${k + 1}`, 443),
    );
    const swapped = [...many.filter((policy) => policy.id !== 'p3'), named('p20', 'd-20', 'new', '203.0.113.5', 443)];
    const result = await dryRun(document(many), document(swapped));
    expect(describeChanges(result, containers)).toBe(
      [
        '# would change:',
        `# edited ${APP_A}: app app-a (allow list); 1 rules written`,
        '#   + new (d-20): tcp 443 to 203.0.113.5',
        '#   - tcp 443 to 198.51.100.3',
        '# ipsets: 1 created, 1 destroyed',
        UNNAMED,
        '#',
        '',
      ].join('\n'),
    );
    // The same destinations, held in rules of their own instead of a set: nothing added or removed.
    const regrouped = await dryRun(document(many), document(many), { setThreshold: 20 });
    expect(describeChanges(regrouped, containers)).toBe(
      [
        '# would change:',
        `# rewritten ${APP_A}: app app-a (allow list); 9 rules written, 1 rules deleted`,
        '#   no destination added or removed: the same ones, in other rules',
        '# ipsets: 0 created, 1 destroyed',
        '#',
        '',
      ].join('\n'),
    );
  });

  it(`lists at most ${MAX_DESTINATION_LINES} destinations under a chain, escapes names, bounds addresses`, async () => {
    const added = Array.from({ length: MAX_DESTINATION_LINES + 3 }, (_, k) =>
      named(`p${100 + k}`, `d-${100 + k}`, `svc\u202e${k}`, `203.0.113.${k + 1}`, 443),
    );
    const result = await dryRun(document([WEB]), document([WEB, ...added]));
    const lines = describeChanges(result, containers).split('\n');
    expect(lines.slice(2, 4)).toEqual([
      '#   + svc\\u202e0 (d-100): tcp 443 to 203.0.113.1',
      '#   + svc\\u202e1 (d-101): tcp 443 to 203.0.113.2',
    ]);
    expect(lines.filter((line) => line.startsWith('#   + '))).toHaveLength(MAX_DESTINATION_LINES);
    expect(lines).toContain('#   …and 3 more (3 added, 0 removed)');
  });

  it("reads a hash:net,port set's entries by port: one destination added to one of its services is one line", async () => {
    const fillers = (port: number) =>
      Array.from({ length: 8 }, (_, k) => named(`p${port}-${k}`, `d-${port}-${k}`, `f${k}`, `192.0.2.${k + 1}`, port));
    const before = [...fillers(8000), ...fillers(9000)];
    const result = await dryRun(
      document(before),
      document([...before, named('p-late', 'd-late', 'late', '203.0.113.9', 9000)]),
    );
    expect(result.preview?.plan.sets.map((set) => set.type)).toEqual(['hash:net,port']);
    expect(describeChanges(result, containers)).toBe(
      [
        '# would change:',
        `# edited ${APP_A}: app app-a (allow list); 1 rules written`,
        '#   + late (d-late): tcp 9000 to 203.0.113.9',
        '# ipsets: 1 created, 1 destroyed',
        '#',
        '',
      ].join('\n'),
    );
  });

  it('names security-group rules by what they reach, a rule by host name by its destination, and logged services', async () => {
    const addressRule = {
      protocol: 'tcp',
      ips: [{ start: '10.0.0.0', end: '10.0.0.255' }],
      ports: [
        { start: 80, end: 80 },
        { start: 443, end: 443 },
      ],
    };
    const loggedPing = {
      protocol: 'icmp',
      ips: [
        { start: '192.0.2.1', end: '192.0.2.1' },
        { start: '192.0.2.10', end: '192.0.2.20' },
        { start: '192.0.2.30', end: '192.0.2.30' },
        { start: '192.0.2.40', end: '192.0.2.40' },
      ],
      ports: [],
      icmp_type: 8,
      icmp_code: 0,
      log: true,
    };
    const byName = {
      protocol: 'udp',
      ips: [],
      ports: [{ start: 53, end: 53 }],
      hosts: ['dns.example.test'],
      destination: 'd-dns',
    };
    const before = document([], { rules: [addressRule], bindings: [['space', 'running', 'space-1', [0]]] });
    const now = document([], {
      rules: [addressRule, loggedPing, byName],
      bindings: [['space', 'running', 'space-1', [1, 2]]],
    });
    const result = await dryRun(before, now);
    const chain = groupChain('space', 'running', 'space-1');
    expect(describeChanges(result, containers)).toBe(
      [
        '# would change:',
        `# rewritten ${chain}: security groups, space space-1 running; 9 rules written, 2 rules deleted`,
        '#   + icmp type 8 code 0 (logged) to 192.0.2.1, 192.0.2.10-192.0.2.20, 192.0.2.30 and 1 more',
        '#   + destination d-dns: udp 53 to hosts dns.example.test',
        '#   - tcp 80, 443 to 10.0.0.0/24',
        UNNAMED,
        '#',
        '',
      ].join('\n'),
    );
    // A logged service the kernel holds already (its NFLOG rule before its ACCEPT) is no change.
    const logged = document([], {
      rules: [addressRule, loggedPing],
      bindings: [['space', 'running', 'space-1', [0, 1]]],
    });
    const kept = await dryRun(logged, now);
    expect(describeChanges(kept, containers).split('\n').slice(2, -3)).toEqual([
      '#   + destination d-dns: udp 53 to hosts dns.example.test',
      '#   - tcp 80, 443 to 10.0.0.0/24',
    ]);
  });

  it('lists the entry chain when more than its record changes, and says when only the record does', async () => {
    const policies = document([WEB]);
    const same = await dryRun(policies, policies);
    expect(describeChanges(same, containers)).toBe(
      `# would change:\n# only the record of the inputs, the first rule of ${ROOT_CHAIN}: the rules allow the same\n#\n`,
    );
    const newcomer: Container = { ip: '10.255.7.2', appId: 'app-a', spaceId: 'space-1', lifecycle: 'running' };
    const grown = await sync(policies, [...containers, newcomer], {
      dryRun: true,
      record: NOW,
      runner: kernelHolding(policies),
    });
    expect(describeChanges(grown, [...containers, newcomer])).toMatch(
      new RegExp(`^# edited ${ROOT_CHAIN}: entry chain \\(every overlay source\\); 6 rules written$`, 'm'),
    );
  });
});
