import { describe, expect, it } from 'vitest';
import { renderRule, renderRuleSpec, renderSetCreate, ruleId } from '../../agent/render.js';
import { limitTableName, MAX_RATE, renderRate } from '../../core/plan/deny-log.js';

describe('renderRuleSpec', () => {
  it('renders every match kind in iptables syntax', () => {
    expect(
      renderRuleSpec({
        match: {
          protocol: 'tcp',
          ports: { start: 8000, end: 9000 },
          destinationRange: { start: '1.1.1.1', end: '1.1.1.9' },
        },
        action: { kind: 'accept' },
      }),
    ).toBe('-p tcp -m tcp --dport 8000:9000 -m iprange --dst-range 1.1.1.1-1.1.1.9 -j ACCEPT');
    expect(
      renderRuleSpec({
        match: { protocol: 'udp', ports: { start: 53, end: 53 }, destination: '2.2.2.0/24' },
        action: { kind: 'accept' },
      }),
    ).toBe('-d 2.2.2.0/24 -p udp -m udp --dport 53 -j ACCEPT');
    expect(
      renderRuleSpec({ match: { protocol: 'icmp', icmp: { type: 8, code: 0 } }, action: { kind: 'accept' } }),
    ).toBe('-p icmp -m icmp --icmp-type 8/0 -j ACCEPT');
    expect(
      renderRuleSpec({ match: { protocol: 'icmp', icmp: { type: 3, code: -1 } }, action: { kind: 'accept' } }),
    ).toBe('-p icmp -m icmp --icmp-type 3 -j ACCEPT');
    expect(renderRuleSpec({ match: { destinationSet: 'dyneg-n-0123456789abcdef' }, action: { kind: 'accept' } })).toBe(
      '-m set --match-set dyneg-n-0123456789abcdef dst -j ACCEPT',
    );
    expect(renderRuleSpec({ match: { conntrack: ['RELATED', 'ESTABLISHED'] }, action: { kind: 'accept' } })).toBe(
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    );
    expect(renderRuleSpec({ match: { source: '10.255.1.2/32' }, action: { kind: 'jump', chain: 'dyneg-c-1' } })).toBe(
      '-s 10.255.1.2/32 -j dyneg-c-1',
    );
    expect(renderRuleSpec({ match: { protocol: 'tcp' }, action: { kind: 'reject', with: 'tcp-reset' } })).toBe(
      '-p tcp -j REJECT --reject-with tcp-reset',
    );
  });

  it('renders the deny log rule as iptables-save prints it: limit after the other matches, prefix before group', () => {
    expect(
      renderRuleSpec({
        match: { source: '10.255.0.0/16', limit: { count: 1, per: 'second' } },
        action: { kind: 'nflog', group: 100, prefix: 'dyneg-denied' },
      }),
    ).toBe(
      '-s 10.255.0.0/16 -m limit --limit 1/sec --limit-burst 1 -j NFLOG --nflog-prefix dyneg-denied --nflog-group 100',
    );
    expect(
      renderRuleSpec({
        match: { limit: { count: 7, per: 'minute' } },
        action: { kind: 'nflog', group: 65535, prefix: 'dyneg-denied' },
      }),
    ).toBe('-m limit --limit 7/min --limit-burst 1 -j NFLOG --nflog-prefix dyneg-denied --nflog-group 65535');
  });

  it.each([
    [{ count: 1, per: 'second' }, '1/sec'],
    [{ count: 100, per: 'second' }, '100/sec'],
    [{ count: 1, per: 'minute' }, '1/min'],
    [{ count: 59, per: 'minute' }, '59/min'],
    [{ count: 90, per: 'minute' }, '90/min'],
    [{ count: 120, per: 'minute' }, '2/sec'],
    [{ count: 600, per: 'minute' }, '10/sec'],
  ] as const)('renders the rate %j as %s (a whole number per second reads back per second)', (rate, text) => {
    expect(renderRate(rate)).toBe(text);
  });

  it('renders a per-source limit as a hashlimit by source address whose table is named by the rate', () => {
    expect(
      renderRuleSpec({
        match: { destination: '192.0.2.0/24', limitPerSource: { count: 120, per: 'minute' } },
        action: { kind: 'nflog', group: 7, prefix: 'dyneg-denied' },
      }),
    ).toBe(
      '-d 192.0.2.0/24 -m hashlimit --hashlimit-upto 2/sec --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name dyneg-deny-2s -j NFLOG --nflog-prefix dyneg-denied --nflog-group 7',
    );
  });

  it('names a distinct hashlimit table for each distinct rate, within the kernel’s 15 characters', () => {
    const rates = (['second', 'minute'] as const).flatMap((per) =>
      Array.from({ length: MAX_RATE[per] }, (_, i) => ({ count: i + 1, per })),
    );
    const byRate = new Map(rates.map((rate) => [renderRate(rate), limitTableName(rate)]));
    expect(new Set(byRate.values()).size).toBe(byRate.size);
    expect(Math.max(...[...byRate.values()].map((name) => name.length))).toBeLessThanOrEqual(15);
    expect(limitTableName({ count: 7, per: 'minute' })).toBe('dyneg-deny-7m');
  });

  it('tags a rule with a hash of its chain and text', () => {
    const rule = { match: { destination: '10.255.0.0/16' }, action: { kind: 'return' } } as const;
    const rendered = renderRule('dyneg-FORWARD', rule);
    expect(rendered.id).toMatch(/^[0-9a-f]{16}$/);
    expect(rendered.body).toBe(`-m comment --comment "dyneg:${rendered.id}" -d 10.255.0.0/16 -j RETURN`);
    expect(renderRule('dyneg-other', rule).id).not.toBe(rendered.id);
    expect(ruleId('c', 'x')).not.toBe(ruleId('c', 'y'));
  });

  it('renders ipset restore lines', () => {
    expect(
      renderSetCreate({ name: 'dyneg-n-1', type: 'hash:net', members: ['1.1.1.0/24', '2.2.2.2/32'] }, 'tmp'),
    ).toEqual(['create tmp hash:net family inet', 'add tmp 1.1.1.0/24', 'add tmp 2.2.2.2/32']);
  });

  it('renders a list:set of set names, sized for its members (at least the kernel default of 8)', () => {
    expect(renderSetCreate({ name: 'dyneg-l-1', type: 'list:set', members: ['dyneg-n-1', 'dyneg-n-2'] })).toEqual([
      'create dyneg-l-1 list:set size 8',
      'add dyneg-l-1 dyneg-n-1',
      'add dyneg-l-1 dyneg-n-2',
    ]);
    const members = Array.from({ length: 12 }, (_, i) => `dyneg-n-${i}`);
    expect(renderSetCreate({ name: 'dyneg-l-2', type: 'list:set', members })[0]).toBe(
      'create dyneg-l-2 list:set size 12',
    );
  });

  it('sizes a set larger than the kernel default for its members', () => {
    const members = Array.from({ length: 70_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`);
    const [create] = renderSetCreate({ name: 'dyneg-n-big', type: 'hash:net', members });
    expect(create).toBe('create dyneg-n-big hash:net family inet maxelem 70000');
  });
});
