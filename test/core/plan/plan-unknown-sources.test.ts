// The end of the root chain: overlay sources the containers file does not list are refused (fail
// closed) unless `unknownSources: 'allow'` keeps the behaviour from before that setting.
import { describe, expect, it } from 'vitest';
import { renderRuleSpec } from '../../../agent/render.js';
import { parsePolicies } from '../../../agent/source/files.js';
import type { Container, Rule } from '../../../core/plan/model.js';
import { ROOT_CHAIN } from '../../../core/plan/names.js';
import { planRules } from '../../../core/plan/plan.js';
import { policyList } from '../../agent/fixtures.js';

const noPolicies = parsePolicies(JSON.stringify(policyList([])));
const c = (ip: string): Container => ({ ip, appId: 'a', spaceId: 's', lifecycle: 'running' });
const containers = [c('10.255.1.2'), c('10.255.2.9')];
const rootOf = (plan: ReturnType<typeof planRules>) => plan.chains.find((chain) => chain.name === ROOT_CHAIN);
const rootText = (options: Parameters<typeof planRules>[2], listed: readonly Container[] = containers) =>
  (rootOf(planRules(noPolicies, listed, options))?.rules ?? []).map((rule: Rule) => renderRuleSpec(rule));

const CATCH_ALL = [
  '-s 10.255.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
  '-s 10.255.0.0/16 -m limit --limit 1/sec --limit-burst 1 -j NFLOG --nflog-prefix dyneg-denied --nflog-group 100',
  '-s 10.255.0.0/16 -p tcp -j REJECT --reject-with tcp-reset',
  '-s 10.255.0.0/16 -j REJECT --reject-with icmp-port-unreachable',
];

describe('planRules: overlay sources the containers file does not list', () => {
  it('are refused by default: the root chain ends with the catch-all, after every dispatch jump', () => {
    const defaults = rootText({});
    expect(defaults).toEqual([
      '-d 10.255.0.0/16 -j RETURN',
      expect.stringMatching(/^-s 10\.255\.1\.0\/24 -j dyneg-d-[0-9a-f]{16}$/),
      expect.stringMatching(/^-s 10\.255\.2\.0\/24 -j dyneg-d-[0-9a-f]{16}$/),
      ...CATCH_ALL,
    ]);
    expect(rootText({ unknownSources: 'reject' })).toEqual(defaults);
  });

  it('are refused on a cell with no containers at all', () => {
    expect(rootText({}, [])).toEqual(['-d 10.255.0.0/16 -j RETURN', ...CATCH_ALL]);
  });

  it('are matched by the overlay the agent is given, normalized', () => {
    const root = rootText({ overlayCidr: '10.9.8.7/8' });
    expect(root[0]).toBe('-d 10.0.0.0/8 -j RETURN');
    expect(root.slice(-CATCH_ALL.length)).toEqual(CATCH_ALL.map((rule) => rule.replace('10.255.0.0/16', '10.0.0.0/8')));
  });

  it('are left alone with allow: no catch-all, the rest of the plan unchanged', () => {
    const allow = planRules(noPolicies, containers, { unknownSources: 'allow' });
    const reject = planRules(noPolicies, containers);
    expect(rootText({ unknownSources: 'allow' })).toEqual(rootText({}).slice(0, -CATCH_ALL.length));
    expect(rootText({ unknownSources: 'allow' }, [])).toEqual(['-d 10.255.0.0/16 -j RETURN']);
    expect(allow.chains.slice(1)).toEqual(reject.chains.slice(1));
    expect(allow.sets).toEqual(reject.sets);
  });

  it('returns established traffic to FORWARD before rejecting: open connections and replies pass', () => {
    const rules = rootOf(planRules(noPolicies, containers))?.rules.slice(-CATCH_ALL.length);
    expect(rules?.map((rule) => [rule.match.conntrack, rule.action.kind])).toEqual([
      [['RELATED', 'ESTABLISHED'], 'return'],
      [undefined, 'nflog'],
      [undefined, 'reject'],
      [undefined, 'reject'],
    ]);
  });

  it('log what they are refused with one shared limit, or not at all when logging is off', () => {
    const custom = rootText({ denyLog: { group: 5, rate: { count: 120, per: 'minute' } } });
    expect(custom.at(-3)).toBe(
      '-s 10.255.0.0/16 -m limit --limit 2/sec --limit-burst 1 -j NFLOG --nflog-prefix dyneg-denied --nflog-group 5',
    );
    expect(custom.filter((rule) => rule.includes('NFLOG'))).toHaveLength(1);
    expect(rootText({ denyLog: 'off' }).slice(-3)).toEqual(CATCH_ALL.filter((rule) => !rule.includes('NFLOG')));
  });
});
