import { describe, expect, it } from 'vitest';
import { parsePolicies } from '../../../agent/source/files.js';
import { DEFAULT_DENY_LOG } from '../../../core/plan/deny-log.js';
import type { Container } from '../../../core/plan/model.js';
import { appChain, containerChain, ROOT_CHAIN, spaceChain } from '../../../core/plan/names.js';
import { planRules } from '../../../core/plan/plan.js';
import { app, icmp, policyList, space, tcp, udp } from '../../agent/fixtures.js';

const policies = (...docs: Parameters<typeof policyList>[0]) => parsePolicies(JSON.stringify(policyList(docs)));
const c = (ip: string, appId: string, spaceId: string): Container => ({ ip, appId, spaceId, lifecycle: 'running' });
const chain = (plan: ReturnType<typeof planRules>, name: string) => plan.chains.find((each) => each.name === name);

describe('planRules', () => {
  it('starts with the root chain: overlay traffic returns, then one jump per /24 holding containers', () => {
    const plan = planRules(policies(), [c('10.255.2.9', 'a', 's'), c('10.255.1.3', 'b', 's')], {
      overlayCidr: '10.255.7.7/16',
    });
    const [root] = plan.chains;
    expect(root?.name).toBe(ROOT_CHAIN);
    expect(root?.rules[0]).toEqual({ match: { destination: '10.255.0.0/16' }, action: { kind: 'return' } });
    // The jumps come right after; what ends the chain for unlisted sources is plan-unknown-sources.test.ts's.
    const jumps = root?.rules.slice(1).filter((rule) => rule.action.kind === 'jump');
    expect(jumps?.map((rule) => rule.match.source)).toEqual(['10.255.1.0/24', '10.255.2.0/24']);
    expect(root?.rules.slice(1, 3)).toEqual(jumps);
  });

  it('dispatches /24 → /28 → /32 to one chain per container', () => {
    const containers = [c('10.255.1.2', 'a', 's'), c('10.255.1.3', 'a', 's'), c('10.255.1.20', 'a', 's')];
    const plan = planRules(policies(), containers);
    const root = plan.chains[0];
    const to24 = root?.rules[1]?.action;
    expect(to24?.kind).toBe('jump');
    const node24 = chain(plan, to24?.kind === 'jump' ? to24.chain : '');
    expect(node24?.rules.map((rule) => rule.match.source)).toEqual(['10.255.1.0/28', '10.255.1.16/28']);
    const first28 = node24?.rules[0]?.action;
    const node28 = chain(plan, first28?.kind === 'jump' ? first28.chain : '');
    expect(node28?.rules).toEqual([
      { match: { source: '10.255.1.2/32' }, action: { kind: 'jump', chain: containerChain('10.255.1.2') } },
      { match: { source: '10.255.1.3/32' }, action: { kind: 'jump', chain: containerChain('10.255.1.3') } },
    ]);
  });

  it('gives a container without policies only the established accept, the deny log and the rejects (default deny)', () => {
    const plan = planRules(policies(tcp('p', app('other'), ['1.1.1.1', '1.1.1.1'], [1, 1])), [
      c('10.255.1.2', 'a', 's'),
    ]);
    expect(chain(plan, containerChain('10.255.1.2'))?.rules).toEqual([
      { match: { conntrack: ['RELATED', 'ESTABLISHED'] }, action: { kind: 'accept' } },
      {
        match: { limitPerSource: { count: 1, per: 'second' } },
        action: { kind: 'nflog', group: 100, prefix: 'dyneg-denied' },
      },
      { match: { protocol: 'tcp' }, action: { kind: 'reject', with: 'tcp-reset' } },
      { match: {}, action: { kind: 'reject', with: 'icmp-port-unreachable' } },
    ]);
    expect(chain(plan, appChain('other'))).toBeUndefined();
  });

  it('logs what a container is refused after its allow lists, right before the rejects, rate-limited by source address', () => {
    const plan = planRules(policies(tcp('p1', app('a'), ['1.1.1.1', '1.1.1.1'], [80, 80])), [
      c('10.255.1.2', 'a', 's'),
      c('10.255.1.3', 'a', 's'),
    ]);
    for (const ip of ['10.255.1.2', '10.255.1.3']) {
      const kinds = chain(plan, containerChain(ip))?.rules.map((rule) => rule.action.kind);
      expect(kinds).toEqual(['accept', 'jump', 'nflog', 'reject', 'reject']);
    }
    // Only container chains and the catch-all log: dispatch and allow chains do not.
    const logging = plan.chains.filter((each) => each.rules.some((rule) => rule.action.kind === 'nflog'));
    expect(logging.map((each) => each.name).sort()).toEqual(
      [ROOT_CHAIN, containerChain('10.255.1.2'), containerChain('10.255.1.3')].sort(),
    );
  });

  it('logs to the group at the rate it is given, and not at all when off', () => {
    const containers = [c('10.255.1.2', 'a', 's')];
    const custom = planRules(policies(), containers, { denyLog: { group: 7, rate: { count: 30, per: 'minute' } } });
    expect(chain(custom, containerChain('10.255.1.2'))?.rules[1]).toEqual({
      match: { limitPerSource: { count: 30, per: 'minute' } },
      action: { kind: 'nflog', group: 7, prefix: 'dyneg-denied' },
    });
    const off = planRules(policies(), containers, { denyLog: 'off' });
    expect(off.chains.flatMap((each) => each.rules).filter((rule) => rule.action.kind === 'nflog')).toEqual([]);
    expect(chain(off, containerChain('10.255.1.2'))?.rules.map((rule) => rule.action.kind)).toEqual([
      'accept',
      'reject',
      'reject',
    ]);
    expect(planRules(policies(), containers, { denyLog: DEFAULT_DENY_LOG })).toEqual(planRules(policies(), containers));
  });

  it('jumps to shared app and space chains, one copy per source however many containers use it', () => {
    const plan = planRules(
      policies(
        tcp('p1', app('a'), ['1.1.1.1', '1.1.1.1'], [80, 80]),
        udp('p2', space('s'), ['2.2.2.0', '2.2.2.255'], [53, 53]),
      ),
      [c('10.255.1.2', 'a', 's'), c('10.255.1.3', 'a', 's')],
    );
    const jumps = chain(plan, containerChain('10.255.1.3'))?.rules.filter((rule) => rule.action.kind === 'jump');
    expect(jumps?.map((rule) => rule.action)).toEqual([
      { kind: 'jump', chain: appChain('a') },
      { kind: 'jump', chain: spaceChain('s') },
    ]);
    expect(plan.chains.filter((each) => each.name === appChain('a'))).toHaveLength(1);
    expect(chain(plan, appChain('a'))?.rules).toEqual([
      {
        match: { protocol: 'tcp', ports: { start: 80, end: 80 }, destination: '1.1.1.1/32' },
        action: { kind: 'accept' },
      },
    ]);
    expect(chain(plan, spaceChain('s'))?.rules[0]?.match).toEqual({
      protocol: 'udp',
      ports: { start: 53, end: 53 },
      destination: '2.2.2.0/24',
    });
  });

  it('is deterministic whatever the input order', () => {
    const docs = [
      tcp('p1', app('a'), ['1.1.1.1', '1.1.1.9'], [80, 81]),
      icmp('p2', app('a'), ['3.3.3.3', '3.3.3.3'], 8, 0),
    ];
    const containers = [c('10.255.1.2', 'a', 's'), c('10.255.3.2', 'a', 's')];
    expect(planRules(policies(...[...docs].reverse()), [...containers].reverse())).toEqual(
      planRules(policies(...docs), containers),
    );
  });
});
