import { describe, expect, it } from 'vitest';
import { parsePolicies } from '../../../agent/source/files.js';
import { parseCidr } from '../../../core/domain/ipv4.js';
import { type AllowEntry, planAllowRules, setEntries } from '../../../core/plan/allow-rules.js';
import { evaluatePlan } from '../../../core/plan/evaluate.js';
import { type Container, entryCount, type IpSet, type Rule } from '../../../core/plan/model.js';
import { destinationAllowEntries } from '../../../core/plan/name-enforcement.js';
import { appChain, isListSet, setName } from '../../../core/plan/names.js';
import { planRules } from '../../../core/plan/plan.js';
import { app, icmp, type PolicyDoc, policyList, tcp, udp } from '../../agent/fixtures.js';

const policies = (...docs: Parameters<typeof policyList>[0]) => parsePolicies(JSON.stringify(policyList(docs)));
const c = (ip: string, appId: string, spaceId: string): Container => ({ ip, appId, spaceId, lifecycle: 'running' });

describe('setEntries', () => {
  it('gives entries that hold exactly the addresses of the ranges, none twice (500 random lists)', () => {
    let state = 11;
    const random = (below: number) => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return Math.floor((state / 2147483648) * below);
    };
    const at = (offset: number) => `10.1.${offset >> 8}.${offset & 255}`;
    for (let round = 0; round < 500; round += 1) {
      const ranges = Array.from({ length: 1 + random(6) }, () => {
        const first = random(1024);
        return { first, last: Math.min(1023, first + (random(3) === 0 ? random(300) : random(3))) };
      });
      const wanted = new Set(
        ranges.flatMap(({ first, last }) => Array.from({ length: last - first + 1 }, (_, k) => first + k)),
      );
      // Each address is decided by the most specific entry holding it, as the kernel does.
      const entries = setEntries(ranges.map(({ first, last }) => ({ start: at(first), end: at(last) })));
      const decided = new Map<number, { prefix: number; held: boolean }>();
      const mark = (blocks: readonly string[], held: boolean) => {
        for (const block of blocks) {
          const { start, end } = parseCidr(block);
          const prefix = Number(block.split('/')[1]);
          for (let address = start; address <= end; address += 1) {
            const offset = address - parseCidr('10.1.0.0/32').start;
            if ((decided.get(offset)?.prefix ?? -1) < prefix) decided.set(offset, { prefix, held });
          }
        }
      };
      mark(entries.members, true);
      mark(entries.nomatch, false);
      const held = [...decided].filter(([, each]) => each.held).map(([offset]) => offset);
      expect(held.length).toBe(wanted.size);
      expect(new Set(held)).toEqual(wanted);
    }
  });
});

describe('planAllowRules', () => {
  const allow = (...docs: Parameters<typeof policyList>[0]) =>
    planAllowRules(
      policies(...docs).egress_policies.flatMap((policy) => destinationAllowEntries(policy.id, policy.destination)),
      3,
    );
  const matches = (rules: Rule[]) => rules.map((rule) => rule.match);

  it('uses -d for a range that is one CIDR block and iprange otherwise', () => {
    expect(
      matches(
        allow(
          tcp('p1', app('a'), ['10.0.0.0', '10.0.0.255'], [1, 65535]),
          tcp('p2', app('a'), ['10.0.1.1', '10.0.1.5'], [22, 22]),
        ).rules,
      ),
    ).toEqual([
      { protocol: 'tcp', ports: { start: 1, end: 65535 }, destination: '10.0.0.0/24' },
      { protocol: 'tcp', ports: { start: 22, end: 22 }, destinationRange: { start: '10.0.1.1', end: '10.0.1.5' } },
    ]);
  });

  it('maps icmp -1 to any type, and a type with -1 code to any code of that type', () => {
    expect(
      matches(
        allow(icmp('p1', app('a'), ['1.1.1.1', '1.1.1.1']), icmp('p2', app('a'), ['1.1.1.2', '1.1.1.2'], 3)).rules,
      ),
    ).toEqual([
      { protocol: 'icmp', destination: '1.1.1.1/32' },
      { protocol: 'icmp', icmp: { type: 3, code: -1 }, destination: '1.1.1.2/32' },
    ]);
  });

  it('drops duplicate destinations and folds a service with many destinations into one ipset', () => {
    const result = allow(
      tcp('p1', app('a'), ['1.1.1.1', '1.1.1.1'], [443, 443]),
      tcp('p2', app('a'), ['1.1.1.1', '1.1.1.1'], [443, 443]),
      tcp('p3', app('a'), ['2.2.2.0', '2.2.2.2'], [443, 443]),
      tcp('p4', app('a'), ['3.3.3.3', '3.3.3.3'], [443, 443]),
      udp('p5', app('a'), ['3.3.3.3', '3.3.3.3'], [443, 443]),
    );
    expect(result.sets).toHaveLength(1);
    expect(result.sets[0]?.members).toEqual(['1.1.1.1/32', '2.2.2.0/31', '2.2.2.2/32', '3.3.3.3/32']);
    expect(matches(result.rules)).toEqual([
      { protocol: 'tcp', ports: { start: 443, end: 443 }, destinationSet: result.sets[0]?.name },
      { protocol: 'udp', ports: { start: 443, end: 443 }, destination: '3.3.3.3/32' },
    ]);
  });

  it('merges overlapping and touching destinations before cutting them into blocks', () => {
    const merged = allow(
      tcp('p1', app('a'), ['10.0.0.0', '10.0.0.200'], [443, 443]),
      tcp('p2', app('a'), ['10.0.0.100', '10.0.0.255'], [443, 443]),
      tcp('p3', app('a'), ['10.0.1.0', '10.0.1.0'], [443, 443]),
    );
    // 10.0.0.0-10.0.1.0: two blocks, where block by block the ranges would give 12.
    expect(merged.sets[0]?.members).toEqual(['10.0.0.0/24', '10.0.1.0/32']);
    const respelled = allow(
      tcp('q1', app('a'), ['10.0.1.0', '10.0.1.0'], [443, 443]),
      tcp('q2', app('a'), ['10.0.0.0', '10.0.0.127'], [443, 443]),
      tcp('q3', app('a'), ['10.0.0.128', '10.0.0.255'], [443, 443]),
    );
    expect(respelled.sets.map((set) => set.name)).toEqual(merged.sets.map((set) => set.name));
  });

  it('keeps a rule in place when its destination changes (order follows policy ids)', () => {
    const before = allow(
      tcp('p1', app('a'), ['1.1.1.1', '1.1.1.1'], [80, 80]),
      tcp('p2', app('a'), ['9.9.9.9', '9.9.9.9'], [81, 81]),
    );
    const after = allow(
      tcp('p1', app('a'), ['8.8.8.8', '8.8.8.8'], [80, 80]),
      tcp('p2', app('a'), ['9.9.9.9', '9.9.9.9'], [81, 81]),
    );
    expect(after.rules[1]).toEqual(before.rules[1]);
    expect(after.rules[0]?.match.destination).toBe('8.8.8.8/32');
  });
});

describe('destinations several sources use', () => {
  // 32 entries, holes or not (its bounds alternate their bits): worth a set of its own once enough
  // sources use it (SET_COST_IN_MEMBERS and referenceCostInMembers: from 5 sources on one service, or
  // 3 on two).
  const wide: [string, string] = ['85.85.85.85', '170.170.170.170'];
  const WIDE_BLOCKS = 32;
  /**
   * `count` one-address destinations of the app's own on `port`, numbered from `from`; one /24 apart,
   * so that no two of them merge into one block.
   */
  const own = (appId: string, count: number, from: number, port = 443): PolicyDoc[] =>
    Array.from({ length: count }, (_, index) =>
      tcp(
        `${appId}-own-${port}-${index}`,
        app(appId),
        [`203.0.${from + index}.1`, `203.0.${from + index}.1`],
        [port, port],
      ),
    );
  /** `count` apps, one container each, each with 3 destinations of its own and the wide one, on each port. */
  const apps = (count: number, ports: readonly number[] = [443]) => {
    const docs: PolicyDoc[] = [];
    const containers: Container[] = [];
    for (let index = 0; index < count; index += 1) {
      const appId = `app${index}`;
      for (const port of ports)
        docs.push(...own(appId, 3, 1 + index * 3, port), tcp(`${appId}-wide-${port}`, app(appId), wide, [port, port]));
      containers.push(c(`10.255.1.${index + 2}`, appId, 's'));
    }
    return { docs, containers };
  };
  const plan = (docs: PolicyDoc[], containers: Container[], setThreshold = 3) =>
    planRules(policies(...docs), containers, { setThreshold });
  // A hash:net member, or a hash:net,port one of any port.
  const holdingWide = (sets: readonly IpSet[]) =>
    sets.filter((set) => set.members.some((member) => member.split(',')[0] === '85.85.85.85/32'));
  const members = (sets: readonly IpSet[]) => sets.reduce((sum, set) => sum + entryCount(set), 0);
  const ruleOf = (result: ReturnType<typeof plan>, appId: string): Rule | undefined =>
    result.chains.find((chain) => chain.name === appChain(appId))?.rules[0];

  it('defines a destination twenty sources use once and lists it from each, beside that source own addresses', () => {
    const { docs, containers } = apps(20);
    const result = plan(docs, containers);
    const sets = new Map(result.sets.map((set) => [set.name, set]));
    const [shared, ...copies] = holdingWide(result.sets);
    expect(copies).toEqual([]);
    expect(shared?.members).toHaveLength(WIDE_BLOCKS);
    for (let index = 0; index < 20; index += 1) {
      const listName = ruleOf(result, `app${index}`)?.match.destinationSet ?? '';
      expect(isListSet(listName)).toBe(true);
      const list = sets.get(listName);
      expect(list?.type).toBe('list:set');
      expect(list?.members).toHaveLength(2);
      expect(list?.members).toContain(shared?.name);
      const ownSet = sets.get(list?.members.find((name) => name !== shared?.name) ?? '');
      expect(ownSet?.members).toHaveLength(3);
    }
    // 32 shared + 20 x (3 own + 2 references), where copying would hold 20 x (3 + 32).
    expect(members(result.sets)).toBe(132);
  });

  it('copies a destination when a list would cost more than it saves: two sources, beside their own', () => {
    const { docs, containers } = apps(2);
    const result = plan(docs, containers);
    expect(result.sets.every((set) => set.type === 'hash:net')).toBe(true);
    expect(holdingWide(result.sets)).toHaveLength(2);
  });

  it('copies a one-block destination however many use it (a reference would cost the same member)', () => {
    const docs: PolicyDoc[] = [];
    const containers: Container[] = [];
    for (let index = 0; index < 50; index += 1) {
      docs.push(
        ...own(`app${index}`, 3, 1 + index * 3),
        tcp(`one-${index}`, app(`app${index}`), ['198.51.100.0', '198.51.100.255'], [443, 443]),
      );
      containers.push(c(`10.255.1.${index + 2}`, `app${index}`, 's'));
    }
    const result = plan(docs, containers);
    expect(result.sets.every((set) => set.type === 'hash:net')).toBe(true);
    expect(result.sets.filter((set) => set.members.includes('198.51.100.0/24'))).toHaveLength(50);
  });

  it('counts only sources of containers on the cell', () => {
    const { docs, containers } = apps(20);
    const alone = plan(docs, containers.slice(0, 1));
    expect(alone.sets).toHaveLength(1);
    expect(alone.sets[0]?.members).toHaveLength(3 + WIDE_BLOCKS);
    expect(alone.sets[0]?.nomatch).toBeUndefined();
    expect(alone).toEqual(
      plan(
        docs.filter((doc) => doc.source.id === 'app0'),
        containers.slice(0, 1),
      ),
    );
  });

  it('matches a shared destination directly when it is all a source has on that service (no list:set)', () => {
    const docs = [
      tcp('a-wide', app('a'), wide, [443, 443]),
      tcp('a-wide-again', app('a'), wide, [443, 443]),
      tcp('b-wide', app('b'), wide, [443, 443]),
    ];
    // Threshold 1: every service uses a set.
    const result = plan(docs, [c('10.255.1.2', 'a', 's'), c('10.255.1.3', 'b', 's')], 1);
    expect(result.sets).toHaveLength(1);
    expect(ruleOf(result, 'a')?.match.destinationSet).toBe(result.sets[0]?.name);
    expect(ruleOf(result, 'b')?.match.destinationSet).toBe(result.sets[0]?.name);
  });

  it('weighs the references: two apps on two ports copy a 32-entry destination they would share for free', () => {
    const docs = ['a', 'b'].flatMap((appId, index) =>
      [443, 5432].flatMap((port) => [
        ...own(appId, 3, 1 + index * 3, port),
        tcp(`${appId}-mid-${port}`, app(appId), wide, [port, port]),
      ]),
    );
    const result = plan(docs, [c('10.255.1.2', 'a', 's'), c('10.255.1.3', 'b', 's')]);
    expect(holdingWide(result.sets)).toHaveLength(2);
    // Copied into each app's own set: its two single-port services share one hash:net,port set.
    expect(result.sets.map((set) => set.type)).toEqual(['hash:net,port', 'hash:net,port']);
  });

  it('counts each service of a source as a use: three apps on two ports share, on one port they copy', () => {
    const onePort = apps(3, [443]);
    expect(holdingWide(plan(onePort.docs, onePort.containers).sets)).toHaveLength(3);
    const twoPorts = apps(3, [443, 5432]);
    const result = plan(twoPorts.docs, twoPorts.containers);
    expect(holdingWide(result.sets)).toHaveLength(1);
    // An app's two services list the same two sets: one list:set each app (content-addressed).
    expect(result.sets.filter((set) => set.type === 'list:set')).toHaveLength(3);
  });
});

describe('sets with holes', () => {
  // .1-.254 is a /24 less two nomatch /32s; the other range keeps the set over the threshold.
  const docs = [
    tcp('p1', app('a'), ['198.51.100.1', '198.51.100.254'], [443, 443]),
    tcp('p2', app('a'), ['203.0.113.7', '203.0.113.7'], [443, 443]),
    tcp('p3', app('a'), ['203.0.113.9', '203.0.113.9'], [443, 443]),
  ];
  const container = c('10.255.1.2', 'a', 's');
  const result = planRules(policies(...docs), [container], { setThreshold: 2 });
  const verdict = (destination: string) =>
    evaluatePlan(result, { source: container.ip, destination, protocol: 'tcp', port: 443 }).verdict;

  it('writes the holes as nomatch entries and names the set by them too', () => {
    expect(result.sets).toEqual([
      {
        name: setName(
          ['198.51.100.0/24', '203.0.113.7/32', '203.0.113.9/32'],
          ['198.51.100.0/32', '198.51.100.255/32'],
        ),
        type: 'hash:net',
        members: ['198.51.100.0/24', '203.0.113.7/32', '203.0.113.9/32'],
        nomatch: ['198.51.100.0/32', '198.51.100.255/32'],
      },
    ]);
    expect(result.sets[0]?.name).not.toBe(setName(['198.51.100.0/24', '203.0.113.7/32', '203.0.113.9/32']));
  });

  it('is read as the kernel reads it: an address in a hole is not allowed', () => {
    expect(verdict('198.51.100.1')).toBe('accept');
    expect(verdict('198.51.100.254')).toBe('accept');
    expect(verdict('203.0.113.9')).toBe('accept');
    expect(verdict('198.51.100.0')).toBe('reject');
    expect(verdict('198.51.100.255')).toBe('reject');
    expect(verdict('203.0.113.8')).toBe('reject');
  });
});

describe("one hash:net,port set for a source's single-port services", () => {
  const eight = (make: (k: number) => PolicyDoc) => Array.from({ length: 8 }, (_, k) => make(k));
  // tcp 443 and udp 53 to their own addresses (port set; .1-.254 of 198.51.100 carves holes), tcp
  // 8000-8001 (a range of ports: its own hash:net) and icmp echo (its own hash:net).
  const docs = [
    tcp('a-https-wide', app('a'), ['198.51.100.1', '198.51.100.254'], [443, 443]),
    ...eight((k) => tcp(`a-https-${k}`, app('a'), [`203.0.113.${2 * k}`, `203.0.113.${2 * k}`], [443, 443])),
    ...eight((k) => udp(`a-dns-${k}`, app('a'), [`192.0.2.${2 * k}`, `192.0.2.${2 * k}`], [53, 53])),
    ...eight((k) => tcp(`a-web-${k}`, app('a'), [`192.0.2.${2 * k}`, `192.0.2.${2 * k}`], [8000, 8001])),
    ...eight((k) => icmp(`a-ping-${k}`, app('a'), [`192.0.2.${2 * k}`, `192.0.2.${2 * k}`], 8, 0)),
  ];
  const container = c('10.255.1.2', 'a', 's');
  const result = planRules(policies(...docs), [container]);
  const verdict = (destination: string, protocol: 'tcp' | 'udp', port: number) =>
    evaluatePlan(result, { source: container.ip, destination, protocol, port }).verdict;

  it('holds every single-port service in one set and one rule; port ranges and icmp keep their own', () => {
    const byType = (type: string) => result.sets.filter((set) => set.type === type);
    const [ports] = byType('hash:net,port');
    expect(byType('hash:net,port')).toHaveLength(1);
    // icmp and tcp 8000-8001 go to the same addresses: one content-addressed set serves both rules.
    expect(byType('hash:net')).toHaveLength(1);
    expect(ports?.members).toContain('198.51.100.0/24,tcp:443');
    expect(ports?.members).toContain('203.0.113.14/32,tcp:443');
    expect(ports?.members).toContain('192.0.2.0/32,udp:53');
    expect(ports?.nomatch).toEqual(['198.51.100.0/32,tcp:443', '198.51.100.255/32,tcp:443']);
    const rules = result.chains.find((chain) => chain.name === appChain('a'))?.rules ?? [];
    expect(rules.map((rule) => rule.match)).toEqual([
      { destinationPortSet: ports?.name },
      { protocol: 'icmp', icmp: { type: 8, code: 0 }, destinationSet: expect.any(String) },
      { protocol: 'tcp', ports: { start: 8000, end: 8001 }, destinationSet: expect.any(String) },
    ]);
  });

  it('is read per protocol and port, holes too, as the kernel reads it', () => {
    expect(verdict('198.51.100.7', 'tcp', 443)).toBe('accept');
    expect(verdict('198.51.100.255', 'tcp', 443)).toBe('reject');
    expect(verdict('198.51.100.7', 'udp', 443)).toBe('reject');
    expect(verdict('198.51.100.7', 'tcp', 53)).toBe('reject');
    expect(verdict('192.0.2.2', 'udp', 53)).toBe('accept');
    expect(verdict('192.0.2.2', 'tcp', 53)).toBe('reject');
    expect(verdict('192.0.2.2', 'udp', 54)).toBe('reject');
    expect(verdict('192.0.2.3', 'udp', 53)).toBe('reject');
    expect(verdict('192.0.2.2', 'tcp', 8001)).toBe('accept');
    expect(
      evaluatePlan(result, {
        source: container.ip,
        destination: '192.0.2.2',
        protocol: 'icmp',
        icmp: { type: 8, code: 0 },
      }).verdict,
    ).toBe('accept');
  });

  it('leaves one single-port service in a hash:net set of its own (a port set would gain nothing)', () => {
    const alone = planRules(policies(...docs.filter((doc) => !doc.id.startsWith('a-dns'))), [container]);
    expect(alone.sets.map((set) => set.type)).toEqual(['hash:net', 'hash:net']);
  });
});

describe('a source with a logged service', () => {
  it('keeps one set per service, so no unlogged accept moves ahead of a logged rule of the same port', () => {
    const eight = (port: number, log: boolean, base: number): AllowEntry[] =>
      Array.from({ length: 8 }, (_, k) => ({
        id: `${log ? 'logged' : 'plain'}-${port}-${k}`,
        destination: {
          protocol: 'tcp',
          ips: [{ start: `198.51.${base}.${2 * k}`, end: `198.51.${base}.${2 * k}` }],
          ports: [{ start: port, end: port }],
          ...(log ? { log: true } : {}),
        },
      }));
    // Sorted by id: the logged 443 rules come before the plain 443 and 5432 ones.
    const entries = [...eight(443, true, 1), ...eight(443, false, 2), ...eight(5432, false, 3)];
    const result = planAllowRules(entries, 8);
    expect(result.sets.map((set) => set.type)).toEqual(['hash:net', 'hash:net', 'hash:net']);
    expect(result.rules.map((rule) => rule.action.kind)).toEqual(['nflog', 'accept', 'accept', 'accept']);
    // Without the logged service, the two plain ones share a port set.
    const plain = planAllowRules([...eight(443, false, 2), ...eight(5432, false, 3)], 8);
    expect(plain.sets.map((set) => set.type)).toEqual(['hash:net,port']);
  });
});
