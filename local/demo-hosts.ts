// `npm run demo -- hosts`: FSM's egress walkthrough on a namespace cell, with names served by a
// dnsmasq inside the lab and real HTTP and TLS servers on its external host (lab-dns.ts,
// lab-http.ts): http by Host, https by SNI (through the cell's HAProxy), a route narrowing /get
// against /status/200 and then widened, a tcp destination by name, and names whose address changes
// being followed without any API call. Every answer comes from curl or a TCP probe in the container.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { parseWith } from '../core/domain/validation.js';
import { API_PREFIX } from '../lambdas/api/routes.js';
import { haproxyInstalled } from './cells/cell-proxies.js';
import { type DemoCall, onStage, pause, say, step } from './demo-stage.js';
import { dnsmasqProblem, startLabDns } from './lab/lab-dns.js';
import { makeCertificate, startLabHttp } from './lab/lab-http.js';
import { type LabContainer, run } from './lab/netns-lab.js';

const APP = '887757be-5eda-48ce-b427-79dcc0705e93';
const SPACE = '5a0e0000-0000-4000-8000-0000000000a3';
const HTTPBIN = '198.51.100.10';
const HTTPBIN_MOVED = '198.51.100.11';
const DB = '203.0.113.20';
const DB_MOVED = '203.0.113.21';
const DNS = '198.51.100.53';
const POSTGRES = 5432;
/** How long a step waits for the cell to do what it expects before it reports what it does. */
const WITHIN_MS = 45_000;

const createdSchema = z.object({ destinations: z.array(z.looseObject({ id: z.string() })) });

/** What one request from the container got: an HTTP status, or how the connection ended. */
type Outcome = string;

/** Runs the walk; resolves with 0, or 1 when a request or connection was not what the story says. */
export async function runHostsWalk(): Promise<number> {
  const missing = dnsmasqProblem() ?? (haproxyInstalled() ? undefined : 'haproxy is not installed');
  if (missing !== undefined) {
    console.error(`error: the hosts demo needs dnsmasq and haproxy: ${missing} (apt-get install dnsmasq-base haproxy)`);
    return 2;
  }
  const labOptions = {
    tag: 'demohosts',
    cells: [{ count: 1 }],
    external: { addresses: [HTTPBIN, HTTPBIN_MOVED, DB, DB_MOVED, DNS], tcpPorts: [POSTGRES] },
  };
  return onStage(labOptions, async ({ lab, startLocal }) => {
    const app = lab.cells[0]?.containers[0];
    if (app === undefined) throw new Error('the lab has one cell with a container');
    const records = { 'httpbin.lab': [HTTPBIN], 'www.httpbin.lab': [HTTPBIN], 'db.lab': [DB] };
    const dns = await startLabDns({ ns: lab.external.ns, address: DNS, ttlSeconds: 2, records });
    const certificates = mkdtempSync(join(tmpdir(), 'egress-demo-hosts-'));
    const certificate = await makeCertificate(certificates, ['httpbin.lab', '*.httpbin.lab', 'other.lab']);
    const servers = await startLabHttp(lab.external.ns, certificate, () => undefined);
    try {
      const { local, call } = await startLocal(
        [[{ handle: 'web', ip: app.ip, metadata: { app_id: APP, space_id: SPACE, org_id: 'org-1' } }]],
        { nameserver: DNS },
      );
      let mismatches = 0;
      /** Waits until `probe` answers `wanted` (or the time is up) and prints what it answers. */
      const expect = async (label: string, probe: () => Promise<Outcome>, wanted: Outcome): Promise<void> => {
        const start = Date.now();
        let seen = await probe();
        while (seen !== wanted && Date.now() - start < WITHIN_MS) {
          await pause(100);
          seen = await probe();
        }
        const note = seen === wanted ? '' : `  (expected ${wanted})`;
        if (note) mismatches += 1;
        say(`  ${label.padEnd(52)} ${seen}${note}   [${Date.now() - start} ms]`);
      };
      const get =
        (host: string, path: string, address = HTTPBIN) =>
        () =>
          http(app, host, address, path);
      const tls =
        (name: string, address = HTTPBIN) =>
        () =>
          https(app, name, address);
      const tcp = (address: string) => () => lab.tcp(app, address, POSTGRES, 500);

      say(`dynamic-egress demo (host names): local mode at ${local.url}, one cell, names served by dnsmasq`);
      say(`  httpbin.lab and www.httpbin.lab → ${HTTPBIN}, db.lab → ${DB} (TTL 2 s)`);
      await local.propagation?.dispatcher.idle();

      step('1. The app has no egress policy: nothing is reachable, by name or otherwise');
      await expect('GET http://httpbin.lab/get', get('httpbin.lab', '/get'), 'refused');

      step('2. An http destination for httpbin.lab on port 80 (matched on the Host header)');
      const web = await allowDestination(call, {
        name: 'httpbin',
        ips: [],
        hosts: ['httpbin.lab'],
        ports: [{ start: 80, end: 80 }],
        protocol: 'http',
      });
      await expect('GET http://httpbin.lab/get', get('httpbin.lab', '/get'), '200');
      await expect('GET http://other.lab/get (same address)', get('other.lab', '/get'), '403');

      step('3. An https destination for *.httpbin.lab on 443 (matched on the TLS SNI, not decrypted)');
      await allowDestination(call, {
        name: 'httpbin-tls',
        ips: [],
        hosts: ['*.httpbin.lab'],
        ports: [{ start: 443, end: 443 }],
        protocol: 'https',
      });
      await expect('https://www.httpbin.lab/', tls('www.httpbin.lab'), '200');
      await expect('https://other.lab/ (same address)', tls('other.lab'), 'closed');

      step('4. A route narrows httpbin to GET /get: /status/200 is answered 403');
      await call('PUT', `${API_PREFIX}/destinations`, {
        destinations: [{ ...web, routes: [{ methods: ['GET'], path_regex: '/get' }] }],
      });
      await expect('GET http://httpbin.lab/status/200', get('httpbin.lab', '/status/200'), '403');
      await expect('GET http://httpbin.lab/get', get('httpbin.lab', '/get'), '200');

      step('5. A second route, /status.*, widens it again');
      await call('PUT', `${API_PREFIX}/destinations`, {
        destinations: [{ ...web, routes: [{ methods: ['GET'], path_regex: '/get' }, { path_regex: '/status.*' }] }],
      });
      await expect('GET http://httpbin.lab/status/200', get('httpbin.lab', '/status/200'), '200');

      step(`6. httpbin.lab moves to ${HTTPBIN_MOVED} (DNS only, no API call): the proxy follows at once`);
      dns.setRecords({ ...records, 'httpbin.lab': [HTTPBIN_MOVED] });
      await expect('GET http://httpbin.lab/status/where (served by)', () => served(app, 'httpbin.lab'), HTTPBIN_MOVED);

      step(`7. A tcp destination by name: db.lab on ${POSTGRES} (the cell resolves it into an ipset)`);
      await allowDestination(call, {
        name: 'db',
        ips: [],
        hosts: ['db.lab'],
        ports: [{ start: POSTGRES, end: POSTGRES }],
        protocol: 'tcp',
      });
      await expect(`tcp ${DB}:${POSTGRES} (db.lab)`, tcp(DB), 'open');
      await expect(`tcp ${DB_MOVED}:${POSTGRES}`, tcp(DB_MOVED), 'refused');

      step(`8. db.lab moves to ${DB_MOVED} (DNS only): followed when the answer expires (30 s TTL floor)`);
      dns.setRecords({ ...records, 'httpbin.lab': [HTTPBIN_MOVED], 'db.lab': [DB_MOVED] });
      await expect(`tcp ${DB_MOVED}:${POSTGRES} (db.lab now)`, tcp(DB_MOVED), 'open');
      say('  the old address stays open for the grace period (300 s) so live connections are not cut');

      say(
        mismatches === 0
          ? '\ndone: removing the namespaces'
          : `\n${mismatches} answer(s) not as expected: removing the namespaces`,
      );
      return mismatches === 0 ? 0 : 1;
    } finally {
      servers.stop();
      await dns.destroy();
      rmSync(certificates, { recursive: true, force: true });
    }
  });
}

/** Creates the destination and a policy from the app to it; the destination as the API answered it. */
async function allowDestination(call: DemoCall, destination: object): Promise<{ id: string } & object> {
  const created = await call('POST', `${API_PREFIX}/destinations`, { destinations: [destination] });
  const [first] = parseWith(createdSchema, created.body, 'POST /destinations').destinations;
  if (first === undefined) throw new Error('POST /destinations answered without the destination');
  await call('POST', `${API_PREFIX}/egress_policies`, {
    egress_policies: [{ source: { type: 'app', id: APP }, destination: { id: first.id } }],
  });
  return first;
}

/** curl from the container, the name resolved to `address` as the app's resolver would. */
async function curlStatus(from: LabContainer, args: string[]): Promise<Outcome> {
  const result = await run([
    'ip',
    'netns',
    'exec',
    from.ns,
    'curl',
    '-s',
    '-o',
    '/dev/null',
    '-m',
    '3',
    '-w',
    '%{http_code}',
    ...args,
  ]);
  if (result.code === 7) return 'refused';
  if (result.stdout === '000') return 'closed';
  return result.stdout;
}

const http = (from: LabContainer, host: string, address: string, path: string): Promise<Outcome> =>
  curlStatus(from, ['--resolve', `${host}:80:${address}`, `http://${host}${path}`]);

const https = (from: LabContainer, name: string, address: string): Promise<Outcome> =>
  curlStatus(from, ['-k', '--resolve', `${name}:443:${address}`, `https://${name}/`]);

/** The address of the server that answered a request for `host` (the servers answer with what they saw). */
async function served(from: LabContainer, host: string): Promise<Outcome> {
  const result = await run([
    'ip',
    'netns',
    'exec',
    from.ns,
    'curl',
    '-s',
    '-m',
    '3',
    '--resolve',
    `${host}:80:${HTTPBIN}`,
    `http://${host}/status/where`,
  ]);
  try {
    const seen = parseWith(z.looseObject({ local: z.string() }), JSON.parse(result.stdout), 'the server');
    return seen.local;
  } catch {
    return result.code === 7 ? 'refused' : 'no answer';
  }
}
