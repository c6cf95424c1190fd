// HTTP and TLS servers inside a lab namespace, and a self-signed certificate for them: what the
// proxy's tests and `npm run demo -- hosts` reach by name. One HTTP server per port (80, 8080, 8081)
// and one TLS server (443) on every address of the namespace; each request is answered with, and
// reported as, a JSON line of what the server saw (its own address and port, the client, Host, SNI,
// method, path); `/slow` streams for three seconds. Processes are killed by `stop` and, as a safety
// net, when this process exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { run } from './netns-lab.js';

const SERVERS = `
const http = require('node:http'); const https = require('node:https'); const fs = require('node:fs');
const [key, cert] = JSON.parse(process.argv[1]);
const handle = (kind) => (req, res) => {
  const seen = { kind, local: req.socket.localAddress, port: req.socket.localPort, from: req.socket.remoteAddress,
    host: req.headers.host, sni: req.socket.servername, method: req.method, url: req.url,
    upgrade: req.headers.upgrade };
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
  /** The request's Upgrade header, when it had one. */
  upgrade?: string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface LabHttp {
  stop(): void;
}

/** The servers in namespace `ns`, with `certificate` ([key, cert]) for TLS; `onRequest` gets each request seen. */
export function startLabHttp(
  ns: string,
  certificate: readonly [string, string],
  onRequest: (seen: Seen) => void,
): Promise<LabHttp> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVERS, JSON.stringify(certificate)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.on('exit', () => live.delete(child));
  const stop = (): void => {
    child.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`lab HTTP servers not ready: ${output}`));
    }, 10_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (line.startsWith('{')) onRequest(JSON.parse(line) as Seen);
        else output += `${line}\n`;
        if (line === 'ready') {
          clearTimeout(timer);
          resolve({ stop });
        }
      });
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab HTTP servers exited with ${code}: ${output}`));
    });
  });
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
  if (made.code !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr.trim()}`);
  return [key, cert];
}
