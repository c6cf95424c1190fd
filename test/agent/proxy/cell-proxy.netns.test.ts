// The proxy wired into the cell agent (issue 15 item 3): snapshots of http, https and tcp policies go
// through the same agent run as on a cell (createCellAgent: filter rules, then the proxy step), on a
// real namespace lab with a real HAProxy started by the agent, real servers and dnsmasq on the
// external host, and curl in the containers.
//
//   container A 10.255.1.2 (app-a: http, https and tcp-by-address policies) ─┐
//   container B 10.255.1.3 (app-b: none)                                     ─┴─ cell ─ 198.51.100.10/11/53
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CellAgent, createCellAgent } from '../../../agent/cell-agent.js';
import { enrichProxyRecord } from '../../../agent/logging/proxy-log.js';
import { REFUSED_ADDRESS_BODY, REFUSED_BODY } from '../../../agent/proxy/haproxy-config.js';
import { createProxyProcess } from '../../../agent/proxy/haproxy-process.js';
import { DEFAULT_PROXY_LOG_PORT } from '../../../agent/proxy/settings.js';
import { type CommandRunner, netnsRunner } from '../../../agent/runner.js';
import { fixedSnapshotSource } from '../../../agent/source/fixed-snapshot.js';
import { AgentState } from '../../../agent/state.js';
import { buildSnapshot, type EncodedSnapshot, encodeSnapshot } from '../../../core/domain/snapshot.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';
import { explainLayer7 } from '../../../core/plan/explain-layer7.js';
import { hostSetName } from '../../../core/plan/names.js';
import { type LabDns, startLabDns } from '../../../local/lab/lab-dns.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';
import { containerStore } from '../fixtures.js';
import { toolsAvailable } from './prerequisites.js';
import {
  during as duringCalls,
  httpCall as http,
  httpsCall as https,
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
/** A deny network of the cell: a name resolving into it opens nothing through the proxy either. */
const DENIED = '192.0.2.0/24';
/** An address of the cell itself (on its loopback), outside the overlay and the deny networks. */
const CELL_OWN = '203.0.113.77';
const RECORDS: Record<string, string> = {
  'allowed.test': ALPHA,
  'other.test': ALPHA,
  'denied.test': '192.0.2.9',
  'api.test': BETA,
  'self.test': CELL_OWN,
};

const web: Destination = {
  id: 'd-web',
  name: 'web',
  ips: [],
  hosts: ['allowed.test', 'denied.test', 'self.test'],
  ports: [{ start: 80, end: 80 }],
  protocol: 'http',
};
const tls: Destination = {
  id: 'd-tls',
  name: 'tls',
  ips: [],
  hosts: ['allowed.test'],
  ports: [{ start: 443, end: 443 }],
  protocol: 'https',
};
/** By address, on the port the proxy intercepts for app-a: must keep reaching BETA directly. */
const beta: Destination = {
  id: 'd-beta',
  name: 'beta',
  ips: [{ start: BETA, end: BETA }],
  ports: [{ start: 80, end: 80 }],
  protocol: 'tcp',
};
/** By exact name, on the port the proxy intercepts for https: its host set's members are not redirected. */
const betaByName: Destination = {
  id: 'd-beta-name',
  name: 'beta-name',
  ips: [],
  hosts: ['beta.test'],
  ports: [{ start: 443, end: 443 }],
  protocol: 'tcp',
};
/** Routes, on a port of their own. */
const api: Destination = {
  id: 'd-api',
  name: 'api',
  ips: [],
  hosts: ['api.test'],
  ports: [{ start: 8081, end: 8081 }],
  protocol: 'http',
  routes: [
    { methods: ['GET'], path_regex: '/get' },
    { path_regex: '/status/.*', headers: { 'x-env': 'prod blue' } },
  ],
};
/** An https destination on port 80 for app-a too: its connections to 80 cannot go to both listeners. */
const tlsOn80: Destination = { ...tls, id: 'd-tls80', name: 'tls80', ports: [{ start: 80, end: 80 }] };

const policy = (id: string, destination: Destination): EgressPolicy => ({
  id,
  source: { type: 'app', id: 'app-a' },
  destination,
});

describe.runIf(labAvailable() && toolsAvailable('cell proxy netns tests', 'haproxy', 'dnsmasq', 'openssl', 'curl'))(
  'the cell agent with its proxy',
  () => {
    let lab: Lab;
    let dns: LabDns | undefined;
    let a: LabContainer;
    let b: LabContainer;
    let cellRunner: CommandRunner;
    let cellNs: string;
    let agent: CellAgent;
    const seen: Seen[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'cell-proxy-'));
    const proxyDir = join(dir, 'proxy');
    let published: EncodedSnapshot;
    const during = <T>(call: () => Promise<T>) => duringCalls(seen, call);
    const publish = (policies: EgressPolicy[]) => {
      published = encodeSnapshot(buildSnapshot((published?.version ?? 0) + 1, policies));
    };
    const snapshots = fixedSnapshotSource(() => published);

    beforeAll(async () => {
      lab = await createLab({
        tag: 'cellproxy',
        cells: [{ ips: [IP.a, IP.b] }],
        external: { addresses: [ALPHA, BETA, DNS] },
      });
      const cell = firstCell(lab);
      [a, b] = containersOf(cell, 2);
      cellRunner = netnsRunner(cell.ns);
      cellNs = cell.ns;
      await lab.execOk(cell.ns, ['ip', 'addr', 'add', `${CELL_OWN}/32`, 'dev', 'lo']);
      await startServers(lab.external.ns, await makeCertificate(dir, ['allowed.test', 'other.test']), seen);
      dns = await startLabDns({
        ns: lab.external.ns,
        address: DNS,
        ttlSeconds: 1,
        records: Object.fromEntries(Object.entries(RECORDS).map(([name, address]) => [name, [address]])),
      });
      const containersFile = join(dir, 'store.json');
      writeFileSync(
        containersFile,
        JSON.stringify(
          containerStore([
            { ip: IP.a, appId: 'app-a', spaceId: 'space-1' },
            { ip: IP.b, appId: 'app-b', spaceId: 'space-1' },
          ]),
        ),
      );
      watchProxyPidFile(join(proxyDir, 'haproxy.pid'));
      agent = createCellAgent({
        snapshots,
        stateDir: join(dir, 'state'),
        cellName: 'cell-0',
        containersFile,
        denyNetworks: { always: [DENIED], running: [], staging: [] },
        mode: 'apply',
        netns: cell.ns,
        proxy: { dir: proxyDir, settings: { nameservers: [DNS] }, manage: 'start' },
      });
    });

    afterAll(async () => {
      await createProxyProcess({ dir: proxyDir, runner: cellRunner })
        .stop()
        .catch(() => undefined);
      await dns?.destroy();
      stopProxyLab();
      await lab?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts the proxy and redirects only the containers and ports of http and https policies', async () => {
      publish([policy('p-web', web), policy('p-tls', tls), policy('p-beta', beta)]);
      const first = await agent.sync();
      expect(first.proxy).toEqual({ destinations: 2, redirects: 2, proxy: 'started' });

      const allowed = await during(() => http(a, 'allowed.test', `http://${ALPHA}/get`));
      expect(allowed.result.status).toBe(200);
      // Through the proxy: the server sees the cell, not the container.
      expect(allowed.seen).toEqual([expect.objectContaining({ local: ALPHA, host: 'allowed.test', url: '/get' })]);
      expect(allowed.seen[0]?.from).not.toBe(IP.a);

      const other = await during(() => http(a, 'other.test', `http://${ALPHA}/get`));
      expect(other.result.status).toBe(403);
      expect(other.result.body.trim()).toBe(REFUSED_BODY);
      expect(other.seen).toEqual([]);

      const tlsAnswer = await during(() => https(a, 'allowed.test', ALPHA, '/tls'));
      expect(tlsAnswer.result.status).toBe(200);
      expect(tlsAnswer.seen).toEqual([expect.objectContaining({ kind: 'https', sni: 'allowed.test' })]);
    });

    it('leaves connections its tcp policies allow by address alone, on the intercepted port', async () => {
      const direct = await during(() => http(a, 'not-a-policy-host.test', `http://${BETA}/direct`));
      expect(direct.result.status).toBe(200);
      // Not proxied: the server sees the container itself.
      expect(direct.seen).toEqual([expect.objectContaining({ local: BETA, from: IP.a, url: '/direct' })]);
    });

    it('leaves connections its tcp policies allow by exact name alone too (the host set), on the intercepted port', async () => {
      publish([policy('p-web', web), policy('p-tls', tls), policy('p-beta', beta), policy('p-beta-name', betaByName)]);
      expect((await agent.sync()).proxy).toMatchObject({ destinations: 2, redirects: 2 });
      // The names refresh (tested in test/agent/names) would put beta.test's address in the set.
      const set = hostSetName('d-beta-name', ['beta.test']);
      expect((await cellRunner('ipset', ['add', set, BETA, '-exist'])).code).toBe(0);
      const direct = await during(() => https(a, 'not-allowed-by-sni.test', BETA, '/by-name'));
      expect(direct.result.status).toBe(200);
      expect(direct.seen).toEqual([expect.objectContaining({ kind: 'https', local: BETA, from: IP.a })]);
      // Another address on 443 still goes to the proxy, which closes an SNI it does not allow.
      const proxied = await during(() => https(a, 'not-allowed-by-sni.test', ALPHA));
      expect(proxied.result.status).toBe(0);
      expect(proxied.seen).toEqual([]);
    });

    it('refuses a name that resolves into a deny network, and everything of a container without policies', async () => {
      const denied = await http(a, 'denied.test', `http://${ALPHA}/`);
      expect(denied.status).toBe(403);
      expect(denied.body.trim()).toBe(REFUSED_ADDRESS_BODY);
      // A name pointed at the cell itself: the proxy would connect to the cell's own services.
      const own = await http(a, 'self.test', `http://${ALPHA}/`);
      expect(own.status).toBe(403);
      expect(own.body.trim()).toBe(REFUSED_ADDRESS_BODY);

      const other = await during(() => http(b, 'allowed.test', `http://${ALPHA}/get`));
      expect(other.result.code).toBe(7); // The filter rules' reset: B is not redirected.
      expect(other.seen).toEqual([]);
      const otherPort = await during(() => http(a, 'allowed.test', `http://${ALPHA}:8080/`));
      expect(otherPort.result.code).toBe(7);
      expect(otherPort.seen).toEqual([]);
    });

    it('leaves container-to-container traffic on an intercepted port alone: the overlay is not redirected', async () => {
      // B serves on port 80; A's port 80 is intercepted for its http destinations.
      const server = spawn(
        'ip',
        [
          'netns',
          'exec',
          b.ns,
          process.execPath,
          '-e',
          "require('node:http').createServer((q, r) => r.end('c2c')).listen(80, () => console.log('ready'))",
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        let output = '';
        server.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        await expect.poll(() => output, { timeout: 5000 }).toContain('ready');
        const answer = await http(a, 'anything.test', `http://${IP.b}/`);
        expect(answer.status).toBe(200);
        expect(answer.body).toBe('c2c');
      } finally {
        server.kill('SIGKILL');
      }
    });

    it('does nothing to the proxy when nothing changed', async () => {
      const config = readFileSync(join(proxyDir, 'haproxy.cfg'), 'utf8');
      const again = await agent.sync();
      expect(again.proxy).toEqual({ proxy: 'recorded' });
      expect(readFileSync(join(proxyDir, 'haproxy.cfg'), 'utf8')).toBe(config);
    });

    it('syncs the proxy again, its record notwithstanding, after a sync from the cell copy took its redirects away', async () => {
      const state = new AgentState(join(dir, 'state'));
      state.markProxyDropped();
      const again = await agent.sync();
      expect(again.proxy).toMatchObject({ proxy: 'unchanged' });
      expect(state.proxyDropped()).toBe(false);
      expect((await agent.sync()).proxy).toEqual({ proxy: 'recorded' });
    });

    it("explain's verdicts are the proxy's, request by request", async () => {
      const state = [policy('p-web', web), policy('p-tls', tls), policy('p-beta', beta), policy('p-api', api)];
      publish(state);
      expect((await agent.sync()).proxy).toMatchObject({ destinations: 3, proxy: 'reloaded' });
      const requests: {
        host: string;
        port: number;
        method?: string;
        path: string;
        headers?: Record<string, string>;
      }[] = [
        { host: 'allowed.test', port: 80, path: '/' },
        { host: 'other.test', port: 80, path: '/' },
        { host: 'api.test', port: 8081, path: '/get' },
        { host: 'api.test', port: 8081, method: 'POST', path: '/get' },
        { host: 'api.test', port: 8081, path: '/get/more' },
        { host: 'api.test', port: 8081, path: '/status/200' },
        { host: 'api.test', port: 8081, method: 'PUT', path: '/status/200', headers: { 'x-env': 'prod blue' } },
        { host: 'api.test', port: 8081, path: '/status/../get', headers: { 'x-env': 'prod blue' } },
        { host: 'allowed.test', port: 8081, path: '/get' },
      ];
      for (const request of requests) {
        const verdict = explainLayer7(
          { app: 'app-a', space: 'space-1', workload: 'app', protocol: 'http', ...request },
          { version: 1, policies: state, groups: [] },
        );
        const address = request.port === 80 ? ALPHA : BETA;
        const answer = await http(
          a,
          request.host,
          `http://${address}:${request.port}${request.path}`,
          '--path-as-is',
          '-X',
          request.method ?? 'GET',
          ...Object.entries(request.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
        );
        expect(answer.status === 200, JSON.stringify({ request, answer, verdict })).toBe(verdict.allowed);
        if (!verdict.allowed) expect(answer.status).toBe(403);
      }
    });

    it('refuses paths a server may read as another, and Host headers it would read past; strips an upgrade to HTTP/2', async () => {
      // The api's route /status/.* with its header: each path below would reach /get or /admin on some servers.
      const env = ['-H', 'x-env: prod blue'];
      for (const path of [
        '/status/..;/get',
        '/status/..%5cget',
        '/status/%252e%252e/get',
        '/status/%u002e%u002e/get',
        '/status/..%00/get',
      ]) {
        const answer = await http(a, 'api.test', `http://${BETA}:8081${path}`, '--path-as-is', ...env);
        expect(answer.status, path).toBe(403);
      }
      expect((await http(a, 'api.test', `http://${BETA}:8081/status/200`, ...env)).status).toBe(200);
      // Only allowed.test is allowed on port 80: a Host that names it after a comma, or before an @, is not it.
      for (const host of ['other.test,allowed.test', 'allowed.test:80@other.test', 'allowed.test x']) {
        const answer = await during(() => http(a, host, `http://${ALPHA}/get`));
        expect(answer.result.status, host).toBe(403);
        expect(answer.seen).toEqual([]);
      }
      expect((await http(a, 'allowed.test:80', `http://${ALPHA}/get`)).status).toBe(200);
      // An h2c upgrade is taken out: the request goes on as HTTP/1.1, and the server never sees it.
      const upgraded = await during(() =>
        http(
          a,
          'allowed.test',
          `http://${ALPHA}/get`,
          '-H',
          'Connection: Upgrade, HTTP2-Settings',
          '-H',
          'Upgrade: h2c',
          '-H',
          'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA',
        ),
      );
      expect(upgraded.result.status).toBe(200);
      expect(upgraded.seen).toHaveLength(1);
      expect(upgraded.seen[0]?.upgrade).toBeUndefined();
    });

    it('logs each refusal to 127.0.0.1 of the cell, as a record agent logs turns into a line with the reason', async () => {
      // What `agent logs` does on a cell, here a bare listener in the cell's namespace.
      const listener = spawn(
        'ip',
        [
          'netns',
          'exec',
          cellNs,
          process.execPath,
          '-e',
          `const d = require('node:dgram').createSocket('udp4');
           d.on('message', (m) => process.stdout.write(m.toString().trim() + '\\n'));
           d.bind(${DEFAULT_PROXY_LOG_PORT}, '127.0.0.1', () => console.log('ready'));`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let received = '';
      listener.stdout.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      try {
        await expect.poll(() => received, { timeout: 5000 }).toContain('ready');
        expect((await http(a, 'other.test', `http://${ALPHA}/x`)).status).toBe(403);
        expect((await http(a, 'api.test', `http://${BETA}:8081/get`, '-X', 'POST')).status).toBe(403);
        expect((await http(a, 'denied.test', `http://${ALPHA}/`)).status).toBe(403);
        expect((await https(a, 'other.test', ALPHA)).status).toBe(0);
        expect((await http(a, 'allowed.test', `http://${ALPHA}/get`)).status).toBe(200);
        // A Host and a path long enough to cut the record if they were written whole.
        const longHost = `${'h'.repeat(500)}.test`;
        expect((await http(a, longHost, `http://${ALPHA}/${'p'.repeat(3000)}`)).status).toBe(403);
        await expect
          .poll(() => received.split('\n').filter((line) => line.startsWith('{')).length, { timeout: 5000 })
          .toBe(5);
        const identities = new Map([
          [IP.a, { handle: 'h-a', appGuid: 'app-a', spaceGuid: 'space-1', orgGuid: 'org-1' }],
        ]);
        const lines = received
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => enrichProxyRecord(line, identities)?.data);
        expect(lines).toEqual([
          {
            request: expect.objectContaining({
              protocol: 'http',
              host: 'other.test',
              path: '/x',
              status: 403,
              reason: 'host',
            }),
            source: expect.objectContaining({ container_id: 'h-a', app_guid: 'app-a' }),
          },
          {
            request: expect.objectContaining({ host: 'api.test', method: 'POST', dst_port: 8081, reason: 'route' }),
            source: expect.objectContaining({ container_id: 'h-a' }),
          },
          {
            request: expect.objectContaining({
              host: 'denied.test',
              destination_id: 'd-web',
              reason: 'refused-address',
            }),
            source: expect.objectContaining({ container_id: 'h-a' }),
          },
          {
            request: expect.objectContaining({ protocol: 'https', host: 'other.test', dst_port: 443, reason: 'host' }),
            source: expect.objectContaining({ container_id: 'h-a' }),
          },
          {
            request: expect.objectContaining({ host: 'h'.repeat(200), path: `/${'p'.repeat(399)}`, reason: 'host' }),
            source: expect.objectContaining({ container_id: 'h-a' }),
          },
        ]);
      } finally {
        listener.kill('SIGKILL');
      }
    });

    it("removes a tcp destination by name in one sync: its host set goes with the proxy's exemption that used it", async () => {
      const set = hostSetName('d-beta-name', ['beta.test']);
      publish([policy('p-web', web), policy('p-tls', tls), policy('p-beta', beta), policy('p-beta-name', betaByName)]);
      await agent.sync();
      // The set, and the proxy's nat exemption matching it (its port is intercepted).
      expect((await cellRunner('ipset', ['list', '-n'])).stdout.split('\n')).toContain(set);
      expect((await cellRunner('iptables-save', ['-t', 'nat'])).stdout).toContain(set);
      publish([policy('p-web', web), policy('p-tls', tls), policy('p-beta', beta)]);
      const synced = await agent.sync();
      expect(synced.sync.hostSetProblems).toBeUndefined();
      expect((await cellRunner('ipset', ['list', '-n'])).stdout.split('\n')).not.toContain(set);
      expect((await cellRunner('iptables-save', ['-t', 'nat'])).stdout).not.toContain(set);
    });

    it('withholds both destinations that give a container one port as http and as https, and says so', async () => {
      publish([policy('p-web', web), policy('p-tls', tls), policy('p-beta', beta), policy('p-tls80', tlsOn80)]);
      const synced = await agent.sync();
      expect(synced.proxy).toEqual({
        destinations: 1,
        redirects: 1,
        proxy: 'reloaded',
        conflicts: [{ source: IP.a, ports: { start: 80, end: 80 }, http: 'd-web', https: 'd-tls80' }],
      });
      // Port 80 of A no longer goes to the proxy, and the filter refuses ALPHA (fail closed): what the
      // proxy allowed before (web) is not left in force.
      const web80 = await during(() => http(a, 'allowed.test', `http://${ALPHA}/get`));
      expect(web80.result.code).toBe(7);
      expect(web80.seen).toEqual([]);
      // Its tcp policy by address on port 80 and its https destination on 443 still work.
      expect((await http(a, 'not-a-policy-host.test', `http://${BETA}/direct`)).status).toBe(200);
      expect((await https(a, 'allowed.test', ALPHA)).status).toBe(200);
    });

    it('lets policies for every app, or one lifecycle, through the proxy for that lifecycle (they travel as bindings)', async () => {
      publish([
        policy('p-web', web),
        { id: 'p-every', source: { type: 'default', id: '' }, destination: api, app_lifecycle: 'running' },
        { id: 'p-staging', source: { type: 'default', id: '' }, destination: tls, app_lifecycle: 'staging' },
      ]);
      // api for A and B (every running app); tls for staging only, and both containers run.
      expect((await agent.sync()).proxy).toMatchObject({ destinations: 2, proxy: 'reloaded' });
      // B has no policy of its own: the one for every running app takes it through, route by route.
      const get = await during(() => http(b, 'api.test', `http://${BETA}:8081/get`));
      expect(get.result.status).toBe(200);
      expect(get.seen).toEqual([expect.objectContaining({ host: 'api.test', url: '/get' })]);
      expect((await http(b, 'api.test', `http://${BETA}:8081/other`)).status).toBe(403);
      // The staging policy is not for running containers: 443 is not redirected, the filter refuses it.
      const staging = await during(() => https(b, 'allowed.test', ALPHA));
      expect(staging.result.code).toBe(7);
      expect(staging.seen).toEqual([]);
    });

    it('takes a removed destination away, and every redirect with the last one', async () => {
      publish([policy('p-tls', tls), policy('p-beta', beta)]);
      const synced = await agent.sync();
      expect(synced.proxy).toEqual({ destinations: 1, redirects: 1, proxy: 'reloaded' });
      const web80 = await during(() => http(a, 'allowed.test', `http://${ALPHA}/get`));
      expect(web80.result.code).toBe(7); // Port 80 is no longer redirected, and the filter refuses ALPHA.
      expect(web80.seen).toEqual([]);
      expect((await https(a, 'allowed.test', ALPHA)).status).toBe(200);

      publish([policy('p-beta', beta)]);
      expect((await agent.sync()).proxy).toEqual({ destinations: 0, redirects: 0, proxy: 'none' });
      const nat = await cellRunner('iptables-save', ['-t', 'nat']);
      expect(nat.stdout).not.toContain('dyneg');
      const tlsGone = await during(() => https(a, 'allowed.test', ALPHA));
      expect(tlsGone.result.code).toBe(7);
      expect(tlsGone.seen).toEqual([]);
      expect(existsSync(join(proxyDir, 'haproxy.cfg'))).toBe(true);
    });
  },
);
