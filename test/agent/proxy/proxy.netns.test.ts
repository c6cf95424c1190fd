// The layer-7 proxy on a real cell: a namespace lab (one cell routing for two containers, one external
// host), the real agent's filter rules (default deny) in the cell, the nat interception rules, a real
// HAProxy in the cell's namespace on the rendered configuration, real HTTP and TLS servers and a real
// dnsmasq on the external host (so no outside DNS is ever asked), and curl in the containers.
//
//   container A 10.255.1.2 (has L7 rules) ─┐                      ┌─ 198.51.100.10 servers (alpha)
//   container B 10.255.1.3 (has none)     ─┴─ cell: agent + nat + HAProxy ─┤  198.51.100.11 servers (beta)
//                                                                          └─ 198.51.100.53 dnsmasq
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyConfigError } from '../../../agent/proxy/errors.js';
import {
  REFUSED_ADDRESS_BODY,
  REFUSED_BODY,
  renderHaproxyConfig,
  UNRESOLVED_BODY,
} from '../../../agent/proxy/haproxy-config.js';
import { createProxyProcess, type ProxyProcess } from '../../../agent/proxy/haproxy-process.js';
import { applyInterception, planInterception, removeInterception } from '../../../agent/proxy/interception.js';
import type { L7Rule } from '../../../agent/proxy/l7-rule.js';
import type { ProxySettings } from '../../../agent/proxy/settings.js';
import { type CommandRunner, netnsRunner } from '../../../agent/runner.js';
import { type LabDns, startLabDns } from '../../../local/lab/lab-dns.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';
import { containerStore, policyList } from '../fixtures.js';
import { runAgent } from '../run-agent.js';
import { toolsAvailable } from './prerequisites.js';
import {
  curl,
  during as duringCalls,
  httpCall,
  httpsCall,
  makeCertificate,
  type Seen,
  startServers,
  stopProxyLab,
  watchProxyPidFile,
} from './proxy-lab.js';

const ALPHA = '198.51.100.10';
const BETA = '198.51.100.11';
const DNS = '198.51.100.53';
const IP = { a: '10.255.1.2', b: '10.255.1.3' };
/** What dnsmasq answers; only some of these names are allowed. */
const RECORDS: Record<string, string> = {
  'allowed.test': ALPHA,
  'other.test': ALPHA,
  'beta.test': BETA,
  'api.test': BETA,
  'a.wild.test': BETA,
  'a.b.wild.test': BETA,
  'wild.test': BETA,
  'loop.test': '127.0.0.1',
};
const SETTINGS: ProxySettings = { nameservers: [DNS] };

const rules = (extraHosts: string[] = []): L7Rule[] => [
  {
    id: 'web',
    protocol: 'http',
    hosts: ['allowed.test', 'beta.test', '*.wild.test', 'loop.test', 'nowhere.test', ...extraHosts],
    ports: [
      { start: 80, end: 80 },
      { start: 8080, end: 8080 },
    ],
    sources: [IP.a],
  },
  {
    id: 'api',
    protocol: 'http',
    hosts: ['api.test'],
    ports: [{ start: 8081, end: 8081 }],
    routes: [
      { methods: ['GET'], path_regex: '/get' },
      { path_regex: '/status/.*', headers: { 'x-env': 'prod blue' } },
    ],
    sources: [IP.a],
  },
  {
    id: 'tls',
    protocol: 'https',
    hosts: ['allowed.test', '*.wild.test', ...extraHosts],
    ports: [{ start: 443, end: 443 }],
    sources: [IP.a],
  },
];

describe.runIf(labAvailable() && toolsAvailable('proxy netns tests', 'haproxy', 'dnsmasq', 'openssl', 'curl'))(
  'the L7 proxy on a real cell',
  () => {
    let lab: Lab;
    let dns: LabDns | undefined;
    let cell: string;
    let a: LabContainer;
    let b: LabContainer;
    let cellRunner: CommandRunner;
    let proxy: ProxyProcess;
    const seen: Seen[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'l7-proxy-'));

    const http = httpCall;
    const https = httpsCall;
    const during = <T>(call: () => Promise<T>) => duringCalls(seen, call);

    beforeAll(async () => {
      lab = await createLab({
        tag: 'l7proxy',
        cells: [{ ips: [IP.a, IP.b] }],
        external: { addresses: [ALPHA, BETA, DNS] },
      });
      const cellInfo = firstCell(lab);
      cell = cellInfo.ns;
      [a, b] = containersOf(cellInfo, 2);
      cellRunner = netnsRunner(cell);

      const certificate = await makeCertificate(dir, ['allowed.test', 'other.test', '*.wild.test', 'wild.test']);
      await startServers(lab.external.ns, certificate, seen);
      dns = await startLabDns({
        ns: lab.external.ns,
        address: DNS,
        ttlSeconds: 1,
        records: Object.fromEntries(Object.entries(RECORDS).map(([name, address]) => [name, [address]])),
      });

      // The real agent, both containers listed, no policy: the cell refuses everything they send through FORWARD.
      const store = containerStore([
        { ip: IP.a, appId: 'app-a', spaceId: 'space-1' },
        { ip: IP.b, appId: 'app-b', spaceId: 'space-1' },
      ]);
      const synced = await runAgent(cell, policyList([]), store);
      expect(synced.code, synced.stderr).toBe(0);

      proxy = createProxyProcess({ dir: join(dir, 'proxy'), runner: cellRunner });
      watchProxyPidFile(proxy.paths.pidFile);
      await proxy.start(renderHaproxyConfig(rules(), SETTINGS));
      await applyInterception(cellRunner, planInterception(rules(), SETTINGS));
    });

    afterAll(async () => {
      await proxy?.stop().catch(() => undefined);
      await dns?.destroy();
      stopProxyLab();
      await lab?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('without the proxy path, the agent refuses the containers (the baseline the proxy must not widen)', async () => {
      const { result, seen: got } = await during(() => http(b, 'allowed.test', `http://${ALPHA}/`));
      expect(result.code).toBe(7); // connection refused: the agent's tcp-reset
      expect(got).toEqual([]);
    });

    it('http: passes an allowed Host to the address the name resolves to, on the original port', async () => {
      const { result, seen: got } = await during(() => http(a, 'allowed.test', `http://${ALPHA}/get`));
      expect(result.status).toBe(200);
      expect(got).toEqual([expect.objectContaining({ local: ALPHA, port: 80, host: 'allowed.test', url: '/get' })]);
      // From the cell (the proxy's own connection), not from the container.
      expect(got[0]?.from).not.toBe(IP.a);
      const other = await http(a, 'Allowed.Test:8080', `http://${ALPHA}:8080/`);
      expect(other.status).toBe(200);
      expect(JSON.parse(other.body)).toMatchObject({ local: ALPHA, port: 8080 });
    });

    it('http: refuses another Host on the same address with 403 and a body naming dynamic-egress', async () => {
      const { result, seen: got } = await during(() => http(a, 'other.test', `http://${ALPHA}/get`));
      expect(result.status).toBe(403);
      expect(result.body.trim()).toBe(REFUSED_BODY);
      expect(got).toEqual([]);
      const missing = await during(() => curl(a, ['-H', 'Host:', '--http1.0', `http://${ALPHA}/`]));
      expect(missing.result.status).toBe(403);
      expect(missing.seen).toEqual([]);
    });

    it('http: a forged Host cannot pick the server: the request goes to the allowed name’s address', async () => {
      // The client connects to BETA but claims allowed.test (ALPHA): the proxy connects to ALPHA.
      const { result, seen: got } = await during(() => http(a, 'allowed.test', `http://${BETA}/x`));
      expect(result.status).toBe(200);
      expect(got).toEqual([expect.objectContaining({ local: ALPHA, url: '/x' })]);
      // An absolute URI naming another host does not change where the request goes either.
      const absolute = await during(() =>
        curl(a, ['--request-target', 'http://other.test/y', '-H', 'Host: allowed.test', `http://${BETA}/`]),
      );
      // HAProxy either refuses the mismatch (400) or sends it where allowed.test resolves, never elsewhere.
      if (absolute.seen.length === 0) expect(absolute.result.status).toBe(400);
      else expect(absolute.seen.map((request) => request.local)).toEqual([ALPHA]);
    });

    it('http: never connects to a refused address an allowed name resolves to, nor anywhere when it does not resolve', async () => {
      const { result, seen: got } = await during(() => http(a, 'loop.test', `http://${ALPHA}/`));
      expect(result.status).toBe(403);
      expect(result.body.trim()).toBe(REFUSED_ADDRESS_BODY);
      expect(got).toEqual([]);
      // An allowed name without an answer: 502, nothing reached.
      const unresolved = await during(() => http(a, 'nowhere.test', `http://${ALPHA}/`));
      expect(unresolved.result.status).toBe(502);
      expect(unresolved.result.body.trim()).toBe(UNRESOLVED_BODY);
      expect(unresolved.seen).toEqual([]);
    });

    it('https: passes an allowed SNI (not decrypted), closes another SNI on the same address', async () => {
      const allowed = await during(() => https(a, 'allowed.test', ALPHA, '/tls'));
      expect(allowed.result.status).toBe(200);
      expect(allowed.seen).toEqual([
        expect.objectContaining({ kind: 'https', sni: 'allowed.test', local: ALPHA, port: 443 }),
      ]);
      const other = await during(() => https(a, 'other.test', ALPHA));
      expect(other.result.code).not.toBe(0);
      expect(other.result.status).toBe(0);
      expect(other.seen).toEqual([]);
      // Not TLS at all: closed too.
      const plain = await during(() => http(a, 'allowed.test', `http://${ALPHA}:443/`));
      expect(plain.result.status).toBe(0);
      expect(plain.seen).toEqual([]);
    });

    it('a wildcard matches exactly one label, for Host and SNI', async () => {
      expect((await http(a, 'a.wild.test', `http://${BETA}/`)).status).toBe(200);
      expect((await http(a, 'a.b.wild.test', `http://${BETA}/`)).status).toBe(403);
      expect((await http(a, 'wild.test', `http://${BETA}/`)).status).toBe(403);
      expect((await https(a, 'a.wild.test', BETA)).status).toBe(200);
      expect((await https(a, 'a.b.wild.test', BETA)).status).toBe(0);
      expect((await https(a, 'wild.test', BETA)).status).toBe(0);
    });

    it('routes: by method, by whole-path regex, by header value; odd paths never match', async () => {
      const api = (path: string, ...args: string[]) => http(a, 'api.test', `http://${BETA}:8081${path}`, ...args);
      expect((await api('/get')).status).toBe(200);
      expect((await api('/get', '-X', 'POST')).status).toBe(403);
      expect((await api('/get/more')).status).toBe(403);
      expect((await api('/status/200')).status).toBe(403);
      expect((await api('/status/200', '-H', 'X-Env: prod')).status).toBe(403);
      expect((await api('/status/200', '-H', 'X-Env: prod blue')).status).toBe(200);
      expect((await api('/status/200', '-X', 'DELETE', '-H', 'x-env: prod blue')).status).toBe(200);
      const dotdot = await during(() => api('/status/../admin', '--path-as-is', '-H', 'X-Env: prod blue'));
      expect(dotdot.result.status).toBe(403);
      expect(dotdot.seen).toEqual([]);
      expect((await api('/status//x', '--path-as-is', '-H', 'X-Env: prod blue')).status).toBe(403);
      // The route's host and port still hold.
      expect((await http(a, 'api.test', `http://${BETA}:8080/get`)).status).toBe(403);
    });

    it('serves redirected connections only: one straight to a listener is closed, even where a destination allows that port', async () => {
      // Destinations that allow the listeners' own ports: without the check, the proxy would take a
      // container's connection to them as a request for that port of the allowed name.
      const listener = (rule: L7Rule) => (rule.protocol === 'http' ? 15080 : 15443);
      const open = rules().map((rule) => ({
        ...rule,
        ports: [...rule.ports, { start: listener(rule), end: listener(rule) }],
      }));
      await proxy.reload(renderHaproxyConfig(open, SETTINGS));
      try {
        // The cell's address on the container's side (the lab's gateway): not redirected, INPUT.
        const direct = await during(() => http(a, 'allowed.test', 'http://169.254.0.1:15080/get'));
        expect(direct.result.status).toBe(0); // No answer at all: closed before any rule.
        expect(direct.result.code).not.toBe(0);
        expect(direct.seen).toEqual([]);
        const directTls = await during(() =>
          curl(a, ['-k', '--resolve', 'allowed.test:15443:169.254.0.1', 'https://allowed.test:15443/']),
        );
        expect(directTls.result.status).toBe(0);
        expect(directTls.result.code).not.toBe(0);
        expect(directTls.seen).toEqual([]);
        // Redirected connections are served as before.
        expect((await http(a, 'allowed.test', `http://${ALPHA}/get`)).status).toBe(200);
        expect((await https(a, 'allowed.test', ALPHA)).status).toBe(200);
      } finally {
        await proxy.reload(renderHaproxyConfig(rules(), SETTINGS));
      }
    });

    it('a refused configuration keeps the running proxy and its file; a good one reloads', async () => {
      const before = await proxy.status();
      const file = readFileSync(proxy.paths.config, 'utf8');
      await expect(proxy.reload('frontend broken\n  bind :1\n  nonsense here\n')).rejects.toThrow(ProxyConfigError);
      expect(readFileSync(proxy.paths.config, 'utf8')).toBe(file);
      expect(await proxy.status()).toMatchObject({ pid: before?.pid, reloads: before?.reloads });
      expect((await http(a, 'allowed.test', `http://${ALPHA}/`)).status).toBe(200);
    });

    it('a reload keeps established connections (http and https) and applies the new rules', async () => {
      expect((await http(a, 'other.test', `http://${ALPHA}/`)).status).toBe(403);
      const slowHttp = http(a, 'allowed.test', `http://${ALPHA}/slow`);
      const slowTls = https(a, 'allowed.test', ALPHA, '/slow');
      await new Promise((done) => setTimeout(done, 600)); // Both are streaming.
      const before = await proxy.status();
      await proxy.reload(renderHaproxyConfig(rules(['other.test']), SETTINGS));
      const after = await proxy.status();
      expect(after?.reloads).toBe((before?.reloads ?? 0) + 1);
      expect(after?.oldWorkers.length).toBeGreaterThan(0); // The old worker still carries the streams.
      expect((await http(a, 'other.test', `http://${ALPHA}/`)).status).toBe(200);
      for (const answer of [await slowHttp, await slowTls]) {
        expect(answer.code).toBe(0);
        expect(answer.body).toContain('tick 11\ndone');
      }
    });

    it('proxy down means refused, never passed directly; without interception the agent still refuses', async () => {
      await proxy.stop();
      expect(await proxy.status()).toBeUndefined();
      const down = await during(() => http(a, 'allowed.test', `http://${ALPHA}/`));
      expect(down.result.code).toBe(7);
      expect(down.seen).toEqual([]);
      const downTls = await during(() => https(a, 'allowed.test', ALPHA));
      expect(downTls.result.code).toBe(7);
      expect(downTls.seen).toEqual([]);
      await removeInterception(cellRunner);
      const save = await cellRunner('iptables-save', ['-t', 'nat']);
      expect(save.stdout).not.toContain('dyneg');
      const direct = await during(() => http(a, 'allowed.test', `http://${ALPHA}/`));
      expect(direct.result.code).toBe(7);
      expect(direct.seen).toEqual([]);
      await removeInterception(cellRunner); // A second removal has nothing to do.
    });
  },
);
