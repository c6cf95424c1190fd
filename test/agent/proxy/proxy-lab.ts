// The world the proxy's netns tests run in: the lab's HTTP and TLS servers on its external host
// (local/lab/lab-http.ts; their names are served by local/lab/lab-dns.ts there, so no outside DNS is
// ever asked), and curl from a container. Servers started here are stopped by stopProxyLab; a proxy a
// test started (a daemon) is stopped when the test process exits.
import { existsSync, readFileSync } from 'node:fs';
import { type LabHttp, type Seen, startLabHttp } from '../../../local/lab/lab-http.js';
import { type LabContainer, run } from '../../../local/lab/netns-lab.js';

export { makeCertificate, type Seen } from '../../../local/lab/lab-http.js';

export interface Answer {
  /** curl's exit code: 0, or 7 (refused), 35/56 (TLS/connection closed), 28 (timeout). */
  code: number;
  status: number;
  body: string;
}

const servers: LabHttp[] = [];
/** The proxy's pid file: HAProxy runs as a daemon, not as a child. */
let proxyPidFile: string | undefined;

/** The pid file of a proxy a test started (HAProxy runs as a daemon): it is stopped on exit too. */
export function watchProxyPidFile(path: string): void {
  proxyPidFile = path;
}
process.on('exit', () => {
  if (proxyPidFile !== undefined && existsSync(proxyPidFile)) {
    try {
      process.kill(Number(readFileSync(proxyPidFile, 'utf8').trim()), 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
});

/** Stops the servers this module started. */
export function stopProxyLab(): void {
  for (const server of servers.splice(0)) server.stop();
}

/** The lab's servers (local/lab/lab-http.ts) in namespace `ns`; every request they see is pushed onto `seen`. */
export async function startServers(ns: string, certificate: readonly [string, string], seen: Seen[]): Promise<void> {
  servers.push(await startLabHttp(ns, certificate, (request) => seen.push(request)));
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
