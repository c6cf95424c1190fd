// The nat side: which connections go to which listener, and the restore payloads (applied for real
// in proxy.netns.test.ts).
import { describe, expect, it } from 'vitest';
import {
  interceptionPayload,
  PROXY_CHAIN,
  planInterception,
  readInterceptionState,
  removalPayload,
  renderInterceptionChain,
} from '../../../agent/proxy/interception.js';
import type { L7Rule } from '../../../agent/proxy/l7-rule.js';
import { hostSetName } from '../../../core/plan/names.js';

const SETTINGS = { nameservers: ['10.0.0.53'] };
const rule = (id: string, protocol: 'http' | 'https', sources: string[], ports: [number, number][]): L7Rule => ({
  id,
  protocol,
  hosts: ['a.test'],
  ports: ports.map(([start, end]) => ({ start, end })),
  sources,
});

describe('planInterception', () => {
  it('sends each container to the listener of its protocol, its port ranges merged, in address order', () => {
    const redirects = planInterception(
      [
        rule(
          'a',
          'http',
          ['10.255.1.10', '10.255.1.2'],
          [
            [80, 80],
            [8000, 8099],
          ],
        ),
        rule(
          'b',
          'http',
          ['10.255.1.2'],
          [
            [8050, 8200],
            [81, 81],
          ],
        ),
        rule('c', 'https', ['10.255.1.2'], [[443, 443]]),
      ],
      SETTINGS,
    );
    expect(redirects.map((r) => `${r.source} ${r.protocol} ${r.ports.start}-${r.ports.end} → ${r.toPort}`)).toEqual([
      '10.255.1.2 http 80-81 → 15080',
      '10.255.1.2 http 8000-8200 → 15080',
      '10.255.1.2 https 443-443 → 15443',
      '10.255.1.10 http 80-80 → 15080',
      '10.255.1.10 http 8000-8099 → 15080',
    ]);
  });

  it("exempts what the container's filter rules allow by address, on the ports both cover", () => {
    const allowances = new Map([
      [
        '10.255.1.2',
        [
          { cidrs: ['198.51.100.9/30', '203.0.113.7/32'], ports: [{ start: 75, end: 85 }] },
          { cidrs: ['192.0.2.1/32'] },
          { cidrs: ['192.0.2.2/32'], ports: [{ start: 443, end: 443 }] },
        ],
      ],
      ['10.255.1.3', [{ cidrs: ['192.0.2.3/32'] }]],
    ]);
    const redirects = planInterception(
      [rule('a', 'http', ['10.255.1.2', '10.255.1.4'], [[80, 90]]), rule('b', 'https', ['10.255.1.2'], [[443, 443]])],
      SETTINGS,
      allowances,
    );
    expect(redirects.map(({ source, ports, exempt }) => ({ source, ports, exempt }))).toEqual([
      {
        source: '10.255.1.2',
        ports: { start: 80, end: 90 },
        exempt: [
          // Normalized to the block's first address; only the ports inside the redirect's range.
          { cidr: '198.51.100.8/30', ports: { start: 80, end: 85 } },
          { cidr: '203.0.113.7/32', ports: { start: 80, end: 85 } },
          { cidr: '192.0.2.1/32', ports: { start: 80, end: 90 } },
        ],
      },
      {
        source: '10.255.1.2',
        ports: { start: 443, end: 443 },
        exempt: [
          { cidr: '192.0.2.1/32', ports: { start: 443, end: 443 } },
          { cidr: '192.0.2.2/32', ports: { start: 443, end: 443 } },
        ],
      },
      // Another container's allowances are not this one's.
      { source: '10.255.1.4', ports: { start: 80, end: 90 }, exempt: undefined },
    ]);
    const lines = renderInterceptionChain(redirects).map((line) => line.replace(/^.*"dyneg:[0-9a-f]{16}" /, ''));
    expect(lines.slice(0, 4)).toEqual([
      '-s 10.255.1.2/32 -d 198.51.100.8/30 -p tcp -m tcp --dport 80:85 -j RETURN',
      '-s 10.255.1.2/32 -d 203.0.113.7/32 -p tcp -m tcp --dport 80:85 -j RETURN',
      '-s 10.255.1.2/32 -d 192.0.2.1/32 -p tcp -m tcp --dport 80:90 -j RETURN',
      '-s 10.255.1.2/32 -p tcp -m tcp --dport 80:90 -j REDIRECT --to-ports 15080',
    ]);
    const bySet = planInterception(
      [rule('a', 'https', ['10.255.1.2'], [[443, 443]])],
      SETTINGS,
      new Map([
        [
          '10.255.1.2',
          [{ cidrs: [], hostSets: [hostSetName('d-db', ['db.example.test'])], ports: [{ start: 443, end: 443 }] }],
        ],
      ]),
    );
    expect(renderInterceptionChain(bySet).map((line) => line.replace(/^.*"dyneg:[0-9a-f]{16}" /, ''))).toEqual([
      `-s 10.255.1.2/32 -m set --match-set ${hostSetName('d-db', ['db.example.test'])} dst -p tcp -m tcp --dport 443 -j RETURN`,
      '-s 10.255.1.2/32 -p tcp -m tcp --dport 443 -j REDIRECT --to-ports 15443',
    ]);
    expect(() =>
      planInterception(
        [rule('a', 'https', ['10.255.1.2'], [[443, 443]])],
        SETTINGS,
        new Map([['10.255.1.2', [{ cidrs: [], hostSets: ['operator-set'] }]]]),
      ),
    ).toThrow(/not a host set name/);
    expect(() =>
      planInterception(
        [rule('a', 'http', ['10.255.1.2'], [[80, 80]])],
        SETTINGS,
        new Map([['10.255.1.2', [{ cidrs: ['1.2.3.4/32 -j ACCEPT'] }]]]),
      ),
    ).toThrow(/must be an IPv4 CIDR block/);
  });

  it('validates its input like the configuration does', () => {
    expect(() => planInterception([rule('a', 'http', ['10.0.0.1 -j ACCEPT'], [[80, 80]])], SETTINGS)).toThrow(
      /sources\[0\]/,
    );
    expect(() => planInterception([], { nameservers: [] })).toThrow(/proxy settings/);
  });
});

describe('interception payloads', () => {
  const redirects = planInterception([rule('a', 'http', ['10.255.1.2'], [[80, 80]])], { ...SETTINGS, httpPort: 9080 });

  it('tags each rule with an id of its chain and text, and redirects to the listener', () => {
    const [line] = renderInterceptionChain(redirects);
    expect(line).toMatch(
      new RegExp(
        `^-A ${PROXY_CHAIN} -m comment --comment "dyneg:[0-9a-f]{16}" -s 10\\.255\\.1\\.2/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9080$`,
      ),
    );
  });

  it('replaces the chain in one transaction, hooking PREROUTING only when the hook is missing', () => {
    const payload = interceptionPayload(redirects, false).split('\n');
    expect(payload[0]).toBe('*nat');
    expect(payload[1]).toBe(`:${PROXY_CHAIN} - [0:0]`);
    expect(payload).toContain(`-I PREROUTING 1 -m comment --comment "dyneg:proxy-hook" -j ${PROXY_CHAIN}`);
    expect(payload.at(-2)).toBe('COMMIT');
    expect(interceptionPayload(redirects, true)).not.toContain('PREROUTING');
  });

  it('reads its chain and hook back from iptables-save', () => {
    const save = [
      '*filter',
      `:${PROXY_CHAIN} - [0:0]`,
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      `-A PREROUTING -m comment --comment "dyneg:proxy-hook" -j ${PROXY_CHAIN}`,
      'COMMIT',
    ].join('\n');
    const hook = `-A PREROUTING -m comment --comment "dyneg:proxy-hook" -j ${PROXY_CHAIN}`;
    expect(readInterceptionState(save)).toEqual({ chain: false, hooked: true, hookRules: [hook] });
    expect(readInterceptionState(`*nat\n:${PROXY_CHAIN} - [0:0]\nCOMMIT\n`)).toEqual({
      chain: true,
      hooked: false,
      hookRules: [],
    });
  });

  it('removes every hook, each by its own text, before the chain (two proxy steps at once may have added two)', () => {
    const hook = `-A PREROUTING -m comment --comment "dyneg:proxy-hook" -j ${PROXY_CHAIN}`;
    const save = ['*nat', `:${PROXY_CHAIN} - [0:0]`, hook, hook, 'COMMIT', ''].join('\n');
    expect(removalPayload(readInterceptionState(save))).toBe(
      [
        '*nat',
        `:${PROXY_CHAIN} - [0:0]`,
        `-D PREROUTING -m comment --comment "dyneg:proxy-hook" -j ${PROXY_CHAIN}`,
        `-D PREROUTING -m comment --comment "dyneg:proxy-hook" -j ${PROXY_CHAIN}`,
        `-X ${PROXY_CHAIN}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});
