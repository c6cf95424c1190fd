// Rendering the proxy's HAProxy configuration: what each destination becomes, determinism, that no
// input can add a line or a flag, and HAProxy's own check of what is rendered (haproxy -c).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HTTP_FRONTEND,
  HTTPS_FRONTEND,
  REFUSED_BODY,
  renderHaproxyConfig,
} from '../../../agent/proxy/haproxy-config.js';
import type { L7Rule } from '../../../agent/proxy/l7-rule.js';
import type { ProxySettings } from '../../../agent/proxy/settings.js';
import { toolsAvailable } from './prerequisites.js';

const SETTINGS: ProxySettings = { nameservers: ['10.0.0.53'] };
const web: L7Rule = {
  id: 'web',
  protocol: 'http',
  hosts: ['Allowed.test', '*.wild.test', 'allowed.test'],
  ports: [
    { start: 8080, end: 8080 },
    { start: 80, end: 80 },
  ],
  routes: [
    { methods: ['POST', 'GET'], path_regex: '/get' },
    { path_regex: '/status.*', headers: { 'x-env': 'a b', 'x-flag': '-f' } },
  ],
  sources: ['10.255.1.10', '10.255.1.2', '10.255.1.2'],
};
const tls: L7Rule = {
  id: 'tls',
  protocol: 'https',
  hosts: ['allowed.test'],
  ports: [{ start: 443, end: 443 }],
  sources: ['10.255.1.2'],
};

const lines = (text: string) => text.split('\n').map((line) => line.trim());

describe('renderHaproxyConfig', () => {
  it('renders an http destination: sources, original ports, Host without port, routes, 403 otherwise', () => {
    const text = lines(renderHaproxyConfig([web], SETTINGS));
    expect(text).toEqual(
      expect.arrayContaining([
        'bind 0.0.0.0:15080',
        "acl dyneg_plain_host req.fhdr(host) -m reg -- '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$'",
        'http-request set-var(txn.dyneg_host) req.fhdr(host),field(1,:),lower',
        'http-request del-header http2-settings',
        'http-request del-header upgrade if { req.fhdr(upgrade) -m sub -i h2c }',
        'acl d0_src src -- 10.255.1.2 10.255.1.10',
        'acl d0_port dst_port -- 80 8080',
        'acl d0_host var(txn.dyneg_host) -m str -- allowed.test',
        "acl d0_host var(txn.dyneg_host) -m reg -- '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.wild\\.test$'",
        'acl d0_r0_method method -- GET POST',
        "acl d0_r0_path path -m reg -- '^(?:/get)$'",
        "acl d0_r1_h0 req.fhdr(x-env) -m str -- 'a b'",
        "acl d0_r1_h1 req.fhdr(x-flag) -m str -- '-f'",
        'http-request set-var(txn.dyneg_dest) str(web) if !dyneg_matched d0_src d0_port d0_host d0_r0_method !dyneg_odd_path d0_r0_path',
        'http-request set-var(txn.dyneg_dest) str(web) if !dyneg_matched d0_src d0_port d0_host !dyneg_odd_path d0_r1_path d0_r1_h0 d0_r1_h1',
        `http-request deny deny_status 403 content-type text/plain string "${REFUSED_BODY}" unless dyneg_matched dyneg_plain_host`,
        'http-request do-resolve(txn.dyneg_ip,dyneg,ipv4) var(txn.dyneg_host)',
        'http-request set-dst var(txn.dyneg_ip)',
        'server origin 0.0.0.0:0',
      ]),
    );
  });

  it('renders an https destination on SNI, waiting for the ClientHello, closing otherwise', () => {
    const text = lines(renderHaproxyConfig([tls], { ...SETTINGS, httpsPort: 8443, listenAddress: '169.254.0.1' }));
    expect(text).toEqual(
      expect.arrayContaining([
        'mode tcp',
        'bind 169.254.0.1:8443',
        'tcp-request inspect-delay 5s',
        'tcp-request content reject unless { req.ssl_hello_type 1 }',
        'tcp-request content set-var(sess.dyneg_host) req.ssl_sni,lower',
        'tcp-request content set-var(sess.dyneg_dest) str(tls) if !dyneg_matched d0_src d0_port d0_host',
        'tcp-request content reject unless dyneg_matched',
        'tcp-request content do-resolve(sess.dyneg_ip,dyneg,ipv4) var(sess.dyneg_host)',
        'tcp-request content reject if { var(sess.dyneg_ip) -m ip -- 0.0.0.0/8 127.0.0.0/8 169.254.0.0/16 224.0.0.0/3 }',
        'tcp-request content set-dst var(sess.dyneg_ip)',
      ]),
    );
  });

  it('closes, in both frontends and before any other rule, a connection that came straight to the listener', () => {
    const rendered = lines(renderHaproxyConfig([web, tls], SETTINGS));
    for (const frontend of [`frontend ${HTTP_FRONTEND}`, `frontend ${HTTPS_FRONTEND}`]) {
      const start = rendered.indexOf(frontend);
      expect(start).toBeGreaterThanOrEqual(0);
      const firstRule = rendered.findIndex((line, index) => index > start && /^(http|tcp)-request /.test(line));
      expect(rendered[firstRule]).toBe('tcp-request connection reject unless { dst_is_local,not }');
    }
  });

  it('renders one route per line with any request when there are no routes, and no destination without sources', () => {
    const text = renderHaproxyConfig(
      [
        { ...web, routes: [] },
        { ...tls, id: 'unused', sources: [] },
      ],
      SETTINGS,
    );
    expect(lines(text)).toContain(
      'http-request set-var(txn.dyneg_dest) str(web) if !dyneg_matched d0_src d0_port d0_host',
    );
    expect(text).not.toContain('unused');
  });

  it('is deterministic: order of destinations and values does not matter', () => {
    const a = renderHaproxyConfig([web, tls], SETTINGS);
    const b = renderHaproxyConfig(
      [
        tls,
        {
          ...web,
          hosts: [...web.hosts].reverse(),
          sources: [...web.sources].reverse(),
          ports: [...web.ports].reverse(),
        },
      ],
      SETTINGS,
    );
    expect(b).toBe(a);
  });

  it('splits long lists over lines of at most 16 values', () => {
    const sources = Array.from({ length: 40 }, (_, i) => `10.255.2.${i + 1}`);
    const text = lines(renderHaproxyConfig([{ ...tls, sources }], SETTINGS)).filter((line) =>
      line.startsWith('acl d0_src'),
    );
    expect(text).toHaveLength(3);
    expect(text[2]).toBe(`acl d0_src src -- ${sources.slice(32).join(' ')}`);
  });

  it('takes nameservers, refused networks and timings from the settings, and refuses bad settings', () => {
    const text = lines(
      renderHaproxyConfig([], {
        nameservers: ['10.0.0.53', '10.0.0.54:5353'],
        refusedNetworks: ['10.0.0.0/8'],
        dnsHoldSeconds: 30,
        hardStopAfterSeconds: 60,
      }),
    );
    expect(text).toEqual(
      expect.arrayContaining([
        'nameserver ns0 10.0.0.53:53',
        'nameserver ns1 10.0.0.54:5353',
        'hold valid 30s',
        'hard-stop-after 60s',
      ]),
    );
    expect(text).toContain('tcp-request content reject if { var(sess.dyneg_ip) -m ip -- 10.0.0.0/8 }');
    const bad: ProxySettings[] = [
      { nameservers: [] },
      { nameservers: ['ns.example.com'] },
      { nameservers: ['10.0.0.53:53\nbind :1'] },
      { nameservers: ['10.0.0.53 -f x'] },
      { ...SETTINGS, refusedNetworks: ['10.0.0.0/8 -f /etc/passwd'] },
      { ...SETTINGS, listenAddress: '0.0.0.0:80' },
      { ...SETTINGS, httpPort: 15443 },
      { ...SETTINGS, httpPort: 0 },
      { ...SETTINGS, dnsHoldSeconds: 0.5 },
    ];
    for (const settings of bad)
      expect(() => renderHaproxyConfig([], settings), JSON.stringify(settings)).toThrow(/proxy settings/);
  });

  it('refuses every injection attempt rather than rendering it', () => {
    const attempts: unknown[] = [
      { ...web, id: 'x\n  bind :1' },
      { ...web, id: 'x) if TRUE' },
      { ...web, hosts: ['a.test\nfrontend evil'] },
      { ...web, hosts: ['a.test -f /etc/passwd'] },
      { ...web, hosts: ['a.test #'] },
      { ...web, sources: ['0.0.0.0/0'] },
      { ...web, routes: [{ path_regex: "/a'\n  bind :1 '" }] },
      { ...web, routes: [{ path_regex: '/a # comment' }] },
      { ...web, routes: [{ headers: { 'x-a': "v'\nbind :1" } }] },
      { ...web, routes: [{ headers: { 'x-a) -m found ||': 'v' } }] },
      { ...web, routes: [{ methods: ['GET\n'] }] },
    ];
    for (const rule of attempts) expect(() => renderHaproxyConfig([rule as L7Rule], SETTINGS)).toThrow(/l7 rules/);
  });
});

describe.runIf(toolsAvailable('haproxy -c of rendered configurations', 'haproxy'))(
  'HAProxy accepts what is rendered',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const check = (text: string) => {
      const file = join(dir, `${Math.random().toString(36).slice(2)}.cfg`);
      writeFileSync(file, text);
      return spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    };

    it('accepts empty and full configurations, with every kind of value at its limits', () => {
      expect(check(renderHaproxyConfig([], SETTINGS)).status).toBe(0);
      const many: L7Rule[] = Array.from({ length: 50 }, (_, i) => ({
        id: `d-${i}.x:y_z`,
        protocol: i % 2 === 0 ? 'http' : 'https',
        hosts: [`h${i}.example.com`, `*.w${i}.example.com`, `${'a'.repeat(63)}.example.com`],
        ports: [
          { start: 1000 + i, end: 1000 + i },
          { start: 20000 + 100 * i, end: 20050 + 100 * i },
        ],
        routes:
          i % 2 === 0
            ? [
                {
                  methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'],
                  path_regex: '^/api/v[0-9]+/(items|things)/[^/]{1,64}[.]json$',
                },
                { headers: { 'x-token': '!%&()*+,-./0123456789:;<=>?@AZ[]^_az{|}~ mid space' } },
              ]
            : [],
        sources: Array.from({ length: 100 }, (_, j) => `10.${i}.${j}.1`),
      }));
      const result = check(renderHaproxyConfig(many, SETTINGS));
      expect(result.stderr).not.toMatch(/ALERT|WARNING/);
      expect(result.status).toBe(0);
    });
  },
);
