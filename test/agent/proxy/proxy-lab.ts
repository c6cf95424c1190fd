// The world the proxy's netns tests run in: HTTP and TLS servers on the lab's external host (their
// names are served by local/lab/lab-dns.ts there, so no outside DNS is ever asked), and curl from a
// container. Processes started here are
// killed by stopProxyLab and, as a safety net, when the test process exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import { type LabContainer, run } from '../../../local/lab/netns-lab.js';

/** One HTTP server per port on every address (80, 8080, 8081) and one TLS one (443); a JSON line per request. */
const SERVERS = `
const http = require('node:http'); const https = require('node:https'); const fs = require('node:fs');
const [key, cert] = JSON.parse(process.argv[1]);
const handle = (kind) => (req, res) => {
  const seen = { kind, local: req.socket.localAddress, port: req.socket.localPort, from: req.socket.remoteAddress,
    host: req.headers.host, sni: req.socket.servername, method: req.method, url: req.url };
  console.log(JSON.stringify(seen));
  if (req.url === '/slow') {
    res.writeHead(200); let i = 0;
    const t = setInterval(() => { res.write('tick ' + i + '\\n'); if (++i === 12) { clearInterval(t); res.end('done\\n'); } }, 250);
    return;
  }
  res.end(JSON.stringify(seen));
};
let pending = 4; const ready = () => { if (--pending === 0) console.log('ready'); };
for (const port of [80, 8080, 8081]) http.createServer(handle('http')).listen(port, '0.0.0.0', ready);
https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, handle('https')).listen(443, '0.0.0.0', ready);
`;

export interface Seen {
  kind: string;
  local: string;
  port: number;
  from: string;
  host?: string;
  sni?: string;
  method: string;
  url: string;
}

export interface Answer {
  /** curl's exit code: 0, or 7 (refused), 35/56 (TLS/connection closed), 28 (timeout). */
  code: number;
  status: number;
  body: string;
}

/** Processes this file started; killed in afterAll and, as a safety net, when the process exits. */
const children = new Set<ChildProcess>();
/** The proxy's pid file: HAProxy runs as a daemon, not as a child. */
let proxyPidFile: string | undefined;

/** The pid file of a proxy a test started (HAProxy runs as a daemon): it is stopped on exit too. */
export function watchProxyPidFile(path: string): void {
  proxyPidFile = path;
}
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  if (proxyPidFile !== undefined && existsSync(proxyPidFile)) {
    try {
      process.kill(Number(readFileSync(proxyPidFile, 'utf8').trim()), 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
});

export function startIn(
  ns: string,
  argv: string[],
  readyWhen: RegExp,
  onLine?: (line: string) => void,
): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${argv[0]} not ready: ${output}`)), 10_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output += `${line}\n`;
        onLine?.(line);
        if (readyWhen.test(line)) {
          clearTimeout(timer);
          resolve(child);
        }
      });
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv[0]} exited with ${code}: ${output}`));
    });
  });
}

/** Kills every process this module started. */
export function stopProxyLab(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** A self-signed certificate for `names` in `dir`: [key, cert]. */
export async function makeCertificate(dir: string, names: readonly string[]): Promise<[string, string]> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = await run([
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=dynamic-egress test',
    '-keyout',
    key,
    '-out',
    cert,
    '-addext',
    `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
  ]);
  expect(made.code, made.stderr).toBe(0);
  return [key, cert];
}

/** The servers (SERVERS) in namespace `ns`; every request they see is pushed onto `seen`. */
export async function startServers(ns: string, certificate: [string, string], seen: Seen[]): Promise<void> {
  await startIn(ns, [process.execPath, '-e', SERVERS, JSON.stringify(certificate)], /^ready$/, (line) => {
    if (line.startsWith('{')) seen.push(JSON.parse(line) as Seen);
  });
}

/** curl from a container; the last line of its output is the status (000 when there was none). */
export async function curl(from: LabContainer, args: string[]): Promise<Answer> {
  const result = await run(['ip', 'netns', 'exec', from.ns, 'curl', '-s', '-m', '5', '-w', '\n%{http_code}', ...args]);
  const lines = result.stdout.split('\n');
  return { code: result.code, status: Number(lines.at(-1)), body: lines.slice(0, -1).join('\n') };
}

export const httpCall = (from: LabContainer, host: string, url: string, ...args: string[]): Promise<Answer> =>
  curl(from, ['-H', `Host: ${host}`, ...args, url]);

export const httpsCall = (from: LabContainer, name: string, address: string, path = '/'): Promise<Answer> =>
  curl(from, ['-k', '--resolve', `${name}:443:${address}`, `https://${name}${path}`]);

/** What the servers saw during one call. */
export async function during<T>(seen: readonly Seen[], call: () => Promise<T>): Promise<{ result: T; seen: Seen[] }> {
  const before = seen.length;
  const result = await call();
  await new Promise((done) => setTimeout(done, 50)); // The server's line may trail the answer.
  return { result, seen: seen.slice(before) };
}
