// Host names through the cell's proxy (`npm run bench -- hosts`; needs root, ip netns, iptables,
// HAProxy and dnsmasq). Prints figures, never fails on time. Everything runs in a throw-away lab:
// one cell (the agent with its proxy: createCellAgent, as `sync --from-dynamodb --proxy-dir` runs it),
// one container, an external host with an HTTP server and a dnsmasq.
//  1. HTTP requests through the proxy (an `http` destination: Host `bench.test`) against the same
//     requests straight to the server (a tcp destination by address), 1 and 50 concurrent clients
//     in the container, keep-alive: requests per second, p50 and p99, and the proxy's ratio.
//  2. A DNS change to enforcement: the name is moved to another address; the time until requests
//     land there (the proxy asks again once its answer is older than dnsHoldSeconds).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCellAgent } from '../agent/cell-agent.js';
import { createProxyProcess } from '../agent/proxy/haproxy-process.js';
import { DEFAULT_DNS_HOLD_SECONDS } from '../agent/proxy/settings.js';
import { netnsRunner } from '../agent/runner.js';
import { fixedSnapshotSource } from '../agent/source/fixed-snapshot.js';
import { buildSnapshot, encodeSnapshot } from '../core/domain/snapshot.js';
import type { Destination, EgressPolicy } from '../core/domain/types.js';
import { dnsmasqProblem, startLabDns } from '../local/lab/lab-dns.js';
import { createLab, labPrerequisiteProblem } from '../local/lab/netns-lab.js';
import { percentile } from './lib/stats.js';

const ALPHA = '198.51.100.10';
const BETA = '198.51.100.11';
const DNS = '198.51.100.53';
const CONTAINER = '10.255.1.2';
const PROXIED_PORT = 18080;
const DIRECT_PORT = 18081;
const REQUESTS = Number(process.env.HOSTS_BENCH_REQUESTS ?? 4000);

/** Answers every request with the address it was reached on. */
const SERVER = `
const http = require('node:http');
let pending = 2;
for (const port of [${PROXIED_PORT}, ${DIRECT_PORT}])
  http.createServer((req, res) => res.end(req.socket.localAddress)).listen(port, '0.0.0.0', () => { if (--pending === 0) console.log('ready'); });
`;

/**
 * In the container: \`clients\` loops sharing \`requests\`, each request timed; prints the latencies
 * (ms) and the wall time as JSON. Keep-alive, one socket per client.
 */
const CLIENT = `
const http = require('node:http');
const { url, host, clients, requests } = JSON.parse(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const one = () => new Promise((resolve, reject) => {
  const started = performance.now();
  http.get(url, { agent, headers: { host } }, (res) => {
    res.resume();
    res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error('status ' + res.statusCode))));
  }).on('error', reject);
});
(async () => {
  let left = requests; const latencies = [];
  const loop = async () => { while (left-- > 0) latencies.push(await one()); };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  console.log(JSON.stringify({ latencies, wallMs: performance.now() - started }));
  agent.destroy();
})().catch((error) => { console.error(String(error)); process.exit(1); });
`;

/** The answer of one request from the container: the server address it reached, or '' (refused, 403...). */
const PROBE = `
const http = require('node:http');
const [url, host] = process.argv.slice(1);
http.get(url, { headers: { host } }, (res) => { let body = ''; res.on('data', (c) => (body += c));
  res.on('end', () => console.log(res.statusCode === 200 ? body : '')); }).on('error', () => console.log(''));
`;

function inNamespace(ns: string, script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err.trim()}`))));
  });
}

const destination = (fields: Omit<Destination, 'name'>): Destination => ({ name: fields.id, ...fields });
const policies: EgressPolicy[] = [
  {
    id: 'p-proxied',
    source: { type: 'app', id: 'app-a' },
    destination: destination({
      id: 'd-proxied',
      ips: [],
      hosts: ['bench.test'],
      ports: [{ start: PROXIED_PORT, end: PROXIED_PORT }],
      protocol: 'http',
    }),
  },
  {
    id: 'p-direct',
    source: { type: 'app', id: 'app-a' },
    destination: destination({
      id: 'd-direct',
      ips: [{ start: BETA, end: BETA }],
      ports: [{ start: DIRECT_PORT, end: DIRECT_PORT }],
      protocol: 'tcp',
    }),
  },
];

const problem = labPrerequisiteProblem() ?? dnsmasqProblem();
if (problem !== undefined) {
  console.log(`hosts benchmark not run: ${problem}`);
} else {
  const work = mkdtempSync(join(tmpdir(), 'hosts-bench-'));
  const lab = await createLab({
    tag: 'hostsbench',
    cells: [{ ips: [CONTAINER] }],
    external: { addresses: [ALPHA, BETA, DNS] },
  });
  const proxyDir = join(work, 'proxy');
  const [cell] = lab.cells;
  const container = cell?.containers[0];
  if (cell === undefined || container === undefined) throw new Error('lab has no container');
  const server = spawn('ip', ['netns', 'exec', lab.external.ns, process.execPath, '-e', SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
    const dns = await startLabDns({
      ns: lab.external.ns,
      address: DNS,
      ttlSeconds: 1,
      records: { 'bench.test': [ALPHA] },
    });
    try {
      const snapshot = encodeSnapshot(buildSnapshot(1, policies));
      const snapshots = fixedSnapshotSource(() => snapshot);
      const containersFile = join(work, 'store.json');
      writeFileSync(
        containersFile,
        JSON.stringify({
          c1: { handle: 'c1', ip: CONTAINER, metadata: { app_id: 'app-a', space_id: 'space-1', org_id: 'org-1' } },
        }),
      );
      const agent = createCellAgent({
        snapshots,
        stateDir: join(work, 'state'),
        cellName: 'bench',
        containersFile,
        mode: 'apply',
        netns: cell.ns,
        proxy: { dir: proxyDir, settings: { nameservers: [DNS] }, manage: 'start' },
      });
      const synced = await agent.sync();
      console.log(`agent: ${JSON.stringify(synced.proxy)}`);

      console.log(`\nHTTP through the proxy vs straight to the server (${REQUESTS} requests each, keep-alive)`);
      console.log(
        `${'clients'.padEnd(8)} ${'path'.padEnd(8)} ${'req/s'.padStart(8)} ${'p50'.padStart(9)} ${'p99'.padStart(9)}`,
      );
      for (const clients of [1, 50]) {
        const measure = async (url: string, host: string) => {
          // A short warm-up (connections, HAProxy's first resolution), not counted.
          await inNamespace(container.ns, CLIENT, [JSON.stringify({ url, host, clients, requests: clients * 4 })]);
          const out = await inNamespace(container.ns, CLIENT, [
            JSON.stringify({ url, host, clients, requests: REQUESTS }),
          ]);
          const { latencies, wallMs } = JSON.parse(out) as { latencies: number[]; wallMs: number };
          return {
            rps: (latencies.length / wallMs) * 1000,
            p50: percentile(latencies, 50),
            p99: percentile(latencies, 99),
          };
        };
        const direct = await measure(`http://${BETA}:${DIRECT_PORT}/`, 'direct.test');
        const proxied = await measure(`http://${ALPHA}:${PROXIED_PORT}/`, 'bench.test');
        for (const [path, figures] of [
          ['direct', direct],
          ['proxy', proxied],
        ] as const) {
          console.log(
            `${String(clients).padEnd(8)} ${path.padEnd(8)} ${figures.rps.toFixed(0).padStart(8)} ${`${figures.p50.toFixed(2)} ms`.padStart(9)} ${`${figures.p99.toFixed(2)} ms`.padStart(9)}`,
          );
        }
        console.log(
          `${''.padEnd(8)} proxy/direct: req/s ${(proxied.rps / direct.rps).toFixed(2)}x, p50 ${(proxied.p50 / direct.p50).toFixed(2)}x, p99 ${(proxied.p99 / direct.p99).toFixed(2)}x`,
        );
      }

      // 2. Move the name; probe every 100 ms until requests land on the new address.
      const probe = () => inNamespace(container.ns, PROBE, [`http://${ALPHA}:${PROXIED_PORT}/`, 'bench.test']);
      const before = (await probe()).trim();
      const moved = performance.now();
      dns.setRecords({ 'bench.test': [BETA] });
      let landed: number | undefined;
      while (performance.now() - moved < (DEFAULT_DNS_HOLD_SECONDS + 10) * 1000) {
        if ((await probe()).trim() === BETA) {
          landed = performance.now() - moved;
          break;
        }
        await new Promise((done) => setTimeout(done, 100));
      }
      console.log(
        `\nDNS change to enforcement (proxy, dnsHoldSeconds ${DEFAULT_DNS_HOLD_SECONDS}, TTL 1 s): ${before} → ${BETA} after ${
          landed === undefined ? 'more than the wait' : `${(landed / 1000).toFixed(2)} s`
        }`,
      );
    } finally {
      await dns.destroy();
    }
  } finally {
    await createProxyProcess({ dir: proxyDir, runner: netnsRunner(cell.ns) })
      .stop()
      .catch(() => undefined);
    server.kill('SIGKILL');
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}
