// The pieces of the dry run's destination account: a kernel set's entries as addresses (the most
// specific entry deciding), saved rules read back, address arithmetic.
import { describe, expect, it } from 'vitest';
import { effectiveSpans, parseSavedRule, subtractSpans } from '../../agent/dry-run-diff.js';
import { ipv4ToNumber } from '../../core/domain/ipv4.js';

const span = (first: string, last: string) => ({ first: ipv4ToNumber(first), last: ipv4ToNumber(last) });

describe('effectiveSpans', () => {
  it('lets the most specific entry decide: a hole in a block, a block in that hole', () => {
    expect(
      effectiveSpans(['10.0.0.0/24', '10.0.0.0/28 nomatch', '10.0.0.4/30', '10.0.0.200/32 nomatch', '10.0.1.7/32']),
    ).toEqual([
      span('10.0.0.4', '10.0.0.7'),
      span('10.0.0.16', '10.0.0.199'),
      span('10.0.0.201', '10.0.0.255'),
      span('10.0.1.7', '10.0.1.7'),
    ]);
  });

  it('reads nothing from entries that are not blocks', () => {
    expect(effectiveSpans(['dyneg-n-0000000000000000', '10.0.0.0/33'])).toEqual([]);
  });
});

describe('subtractSpans', () => {
  it('cuts holes, ends and whole spans', () => {
    const whole = [span('10.0.0.0', '10.0.0.255'), span('10.0.2.0', '10.0.2.9')];
    expect(subtractSpans(whole, [span('10.0.0.10', '10.0.0.19'), span('10.0.0.250', '10.0.2.3')])).toEqual([
      span('10.0.0.0', '10.0.0.9'),
      span('10.0.0.20', '10.0.0.249'),
      span('10.0.2.4', '10.0.2.9'),
    ]);
    expect(subtractSpans(whole, [span('0.0.0.0', '255.255.255.255')])).toEqual([]);
    expect(subtractSpans(whole, [])).toEqual(whole);
  });
});

describe('parseSavedRule', () => {
  it('reads what iptables-save prints of the agent rules, comments apart', () => {
    expect(
      parseSavedRule(
        '-A dyneg-a-1 -d 198.51.100.9/32 -p tcp -m comment --comment "dyneg:00" -m tcp --dport 6379:6380 -j ACCEPT',
      ),
    ).toEqual({
      target: 'ACCEPT',
      matchKey: '-d 198.51.100.9/32 -p tcp -m tcp --dport 6379:6380',
      protocol: 'tcp',
      ports: '6379-6380',
      icmp: undefined,
      destination: span('198.51.100.9', '198.51.100.9'),
      set: undefined,
    });
    expect(
      parseSavedRule('-A dyneg-a-1 -m comment --comment "dyneg:00" -m set --match-set dyneg-n-1 dst,dst -j ACCEPT'),
    ).toMatchObject({ set: { name: 'dyneg-n-1', withPort: true }, protocol: undefined });
    expect(
      parseSavedRule('-A dyneg-a-1 -p icmp -m comment --comment "dyneg:00" -m icmp --icmp-type 8/0 -j ACCEPT'),
    ).toMatchObject({ protocol: 'icmp', icmp: '8/0' });
  });

  it('reads nothing from a rule the agent never writes', () => {
    expect(parseSavedRule('-A dyneg-a-1 ! -d 10.0.0.0/8 -j ACCEPT')).toBeUndefined();
    expect(parseSavedRule('-A dyneg-a-1 -o eth0 -j ACCEPT')).toBeUndefined();
  });
});
