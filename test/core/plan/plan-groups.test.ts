import { describe, expect, it } from 'vitest';
import { renderRuleSpec } from '../../../agent/render.js';
import { parsePolicies } from '../../../agent/source/files.js';
import type {
  AddressRuleDocument,
  GroupBinding,
  GroupRuleDocument,
  SecurityGroupsSection,
} from '../../../core/domain/snapshot-groups.js';
import type { Container, Rule } from '../../../core/plan/model.js';
import { appChain, containerChain, groupChain, spaceChain } from '../../../core/plan/names.js';
import { type DenyNetworks, groupRuleId, planRules } from '../../../core/plan/plan.js';
import { app, policyList, tcp } from '../../agent/fixtures.js';

const c = (ip: string, spaceId: string, lifecycle: Container['lifecycle'], orgId?: string): Container => ({
  ip,
  appId: `app-${ip}`,
  spaceId,
  lifecycle,
  ...(orgId === undefined ? {} : { orgId }),
});
const rule = (
  protocol: AddressRuleDocument['protocol'],
  ip: string,
  extra: Partial<AddressRuleDocument> = {},
): AddressRuleDocument => ({
  protocol,
  ips: [{ start: ip, end: ip }],
  ports: protocol === 'tcp' || protocol === 'udp' ? [{ start: 443, end: 443 }] : [],
  ...extra,
});
const withGroups = (security_groups: SecurityGroupsSection, ...v1: Parameters<typeof policyList>[0]) => ({
  ...parsePolicies(JSON.stringify(policyList(v1))),
  security_groups,
});
const jumpsOf = (plan: ReturnType<typeof planRules>, ip: string): string[] =>
  (plan.chains.find((chain) => chain.name === containerChain(ip))?.rules ?? []).flatMap((each: Rule) =>
    each.action.kind === 'jump' ? [each.action.chain] : [],
  );
const specsOf = (plan: ReturnType<typeof planRules>, name: string): string[] | undefined =>
  plan.chains.find((chain) => chain.name === name)?.rules.map(renderRuleSpec);

const RULES: GroupRuleDocument[] = [
  rule('tcp', '1.0.0.1'), // 0: global running
  rule('tcp', '1.0.0.2'), // 1: global staging
  rule('udp', '1.0.0.3'), // 2: space s1 running
  rule('tcp', '1.0.0.4'), // 3: space s1 staging
  rule('icmp', '1.0.0.5', { icmp_type: -1, icmp_code: -1 }), // 4: org o1 running
  rule('all', '1.0.0.6'), // 5: org o1 staging
];
const BINDINGS: GroupBinding[] = [
  ['global', 'running', '', [0]],
  ['global', 'staging', '', [1]],
  ['organization', 'running', 'o1', [4]],
  ['organization', 'staging', 'o1', [5]],
  ['space', 'running', 's1', [2]],
  ['space', 'staging', 's1', [3]],
];
const SECTION: SecurityGroupsSection = { rules: RULES, bindings: BINDINGS };

describe('planRules: security groups', () => {
  it('jumps, after the v1 chains, to the global, space and organisation bindings of the container lifecycle', () => {
    const policies = withGroups(SECTION, tcp('p1', app('app-10.255.1.2'), ['9.9.9.9', '9.9.9.9'], [80, 80]));
    const plan = planRules(policies, [
      c('10.255.1.2', 's1', 'running', 'o1'),
      c('10.255.1.3', 's1', 'staging', 'o1'),
      c('10.255.1.4', 's2', 'running', 'o1'),
      c('10.255.1.5', 's1', 'staging'),
    ]);
    expect(jumpsOf(plan, '10.255.1.2')).toEqual([
      appChain('app-10.255.1.2'),
      groupChain('global', 'running', ''),
      groupChain('space', 'running', 's1'),
      groupChain('organization', 'running', 'o1'),
    ]);
    expect(jumpsOf(plan, '10.255.1.3')).toEqual([
      groupChain('global', 'staging', ''),
      groupChain('space', 'staging', 's1'),
      groupChain('organization', 'staging', 'o1'),
    ]);
    // No binding for space s2: global and organisation only.
    expect(jumpsOf(plan, '10.255.1.4')).toEqual([
      groupChain('global', 'running', ''),
      groupChain('organization', 'running', 'o1'),
    ]);
    // Without an org_id, no organisation binding applies.
    expect(jumpsOf(plan, '10.255.1.5')).toEqual([
      groupChain('global', 'staging', ''),
      groupChain('space', 'staging', 's1'),
    ]);
    expect(specsOf(plan, groupChain('global', 'running', ''))).toEqual([
      '-d 1.0.0.1/32 -p tcp -m tcp --dport 443 -j ACCEPT',
    ]);
    expect(specsOf(plan, groupChain('global', 'staging', ''))).toEqual([
      '-d 1.0.0.2/32 -p tcp -m tcp --dport 443 -j ACCEPT',
    ]);
    expect(specsOf(plan, groupChain('space', 'running', 's1'))).toEqual([
      '-d 1.0.0.3/32 -p udp -m udp --dport 443 -j ACCEPT',
    ]);
    expect(specsOf(plan, groupChain('organization', 'running', 'o1'))).toEqual(['-d 1.0.0.5/32 -p icmp -j ACCEPT']);
  });

  it('renders protocol all as one rule without -p, and icmp -1 as any type', () => {
    const plan = planRules(withGroups(SECTION), [c('10.255.1.3', 's1', 'staging', 'o1')]);
    expect(specsOf(plan, groupChain('organization', 'staging', 'o1'))).toEqual(['-d 1.0.0.6/32 -j ACCEPT']);
  });

  it('lets every container of a binding share its chain, and plans chains only for bindings in use', () => {
    const plan = planRules(withGroups(SECTION), [
      c('10.255.1.2', 's1', 'running', 'o1'),
      c('10.255.1.3', 's1', 'running', 'o1'),
    ]);
    const names = plan.chains.map((chain) => chain.name);
    for (const name of [
      groupChain('global', 'running', ''),
      groupChain('space', 'running', 's1'),
      groupChain('organization', 'running', 'o1'),
    ]) {
      expect(names.filter((each) => each === name)).toHaveLength(1);
    }
    expect(names).not.toContain(groupChain('global', 'staging', ''));
    expect(names).not.toContain(groupChain('space', 'staging', 's1'));
  });

  it('keeps v1 policies for every lifecycle: a staging container still gets its app and space lists', () => {
    const policies = withGroups(
      { rules: [], bindings: [] },
      tcp('p1', app('app-10.255.1.3'), ['9.9.9.9', '9.9.9.9'], [80, 80]),
      tcp('p2', { type: 'space', id: 's1' }, ['9.9.9.8', '9.9.9.8'], [80, 80]),
    );
    const plan = planRules(policies, [c('10.255.1.3', 's1', 'staging')]);
    expect(jumpsOf(plan, '10.255.1.3')).toEqual([appChain('app-10.255.1.3'), spaceChain('s1')]);
  });

  it('orders a binding chain by rule content, merges a binding listed twice, drops duplicate destinations', () => {
    const rules = [rule('tcp', '2.0.0.2'), rule('tcp', '2.0.0.1'), rule('tcp', '2.0.0.2')];
    const section = (bindings: GroupBinding[]): SecurityGroupsSection => ({ rules, bindings });
    const container = [c('10.255.1.2', 's1', 'running')];
    const chainOf = (bindings: GroupBinding[]) =>
      specsOf(planRules(withGroups(section(bindings)), container), groupChain('global', 'running', ''));
    // By content, not index: 2.0.0.1 (index 1) first.
    const expected = [
      '-d 2.0.0.1/32 -p tcp -m tcp --dport 443 -j ACCEPT',
      '-d 2.0.0.2/32 -p tcp -m tcp --dport 443 -j ACCEPT',
    ];
    expect(chainOf([['global', 'running', '', [2, 1, 0]]])).toEqual(expected);
    expect(
      chainOf([
        ['global', 'running', '', [1]],
        ['global', 'running', '', [0, 2]],
      ]),
    ).toEqual(expected);
    const [first, second, third] = rules.map(groupRuleId);
    expect(first).toBe(third);
    expect(first).not.toBe(second);
  });

  it('is deterministic: the same input in another order gives the same plan', () => {
    const containers = [c('10.255.1.2', 's1', 'running', 'o1'), c('10.255.1.3', 's1', 'staging', 'o1')];
    const reversed = { rules: RULES, bindings: [...BINDINGS].reverse() };
    expect(planRules(withGroups(reversed), [...containers].reverse())).toEqual(
      planRules(withGroups(SECTION), containers),
    );
  });

  it('folds a big destination list into an ipset, shared between bindings that hold the same destination', () => {
    const ips = Array.from({ length: 1000 }, (_, k) => ({
      start: `172.16.${Math.floor(k / 250)}.${(k % 250) + 1}`,
      end: `172.16.${Math.floor(k / 250)}.${(k % 250) + 1}`,
    }));
    const big: GroupRuleDocument = { protocol: 'tcp', ips, ports: [{ start: 443, end: 443 }] };
    const section: SecurityGroupsSection = {
      rules: [big],
      bindings: [
        ['global', 'running', '', [0]],
        ['global', 'staging', '', [0]],
      ],
    };
    const plan = planRules(withGroups(section), [c('10.255.1.2', 's1', 'running'), c('10.255.1.3', 's1', 'staging')]);
    expect(plan.sets).toHaveLength(1);
    const [set] = plan.sets;
    const expected = [`-p tcp -m tcp --dport 443 -m set --match-set ${set?.name} dst -j ACCEPT`];
    expect(specsOf(plan, groupChain('global', 'running', ''))).toEqual(expected);
    expect(specsOf(plan, groupChain('global', 'staging', ''))).toEqual(expected);
  });

  it('rejects new connections to deny networks right after the established accept, before any allow jump', () => {
    const denyNetworks: DenyNetworks = { always: ['169.254.169.254/32'], running: ['10.0.0.0/8'], staging: [] };
    const plan = planRules(withGroups(SECTION), [c('10.255.1.2', 's1', 'running'), c('10.255.1.3', 's1', 'staging')], {
      denyNetworks,
      denyLog: 'off',
    });
    const running = specsOf(plan, containerChain('10.255.1.2')) ?? [];
    expect(running.slice(0, 5)).toEqual([
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-d 169.254.169.254/32 -p tcp -j REJECT --reject-with tcp-reset',
      '-d 169.254.169.254/32 -j REJECT --reject-with icmp-port-unreachable',
      '-d 10.0.0.0/8 -p tcp -j REJECT --reject-with tcp-reset',
      '-d 10.0.0.0/8 -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(running[5]).toMatch(/^-j dyneg-g-/);
    const staging = specsOf(plan, containerChain('10.255.1.3')) ?? [];
    expect(staging.slice(1, 3)).toEqual([
      '-d 169.254.169.254/32 -p tcp -j REJECT --reject-with tcp-reset',
      '-d 169.254.169.254/32 -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(staging[3]).toMatch(/^-j dyneg-g-/);
    // Logged like any refusal, when the deny log is on.
    const logged = specsOf(
      planRules(withGroups(SECTION), [c('10.255.1.3', 's1', 'staging')], { denyNetworks }),
      containerChain('10.255.1.3'),
    );
    expect(logged?.[1]).toBe(
      '-d 169.254.169.254/32 -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name dyneg-deny-1s -j NFLOG --nflog-prefix dyneg-denied --nflog-group 100',
    );
  });
});
