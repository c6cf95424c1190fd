// A namespace lab for real-kernel tests: one or more cell namespaces, each routing for its container
// namespaces (one /32 each, Silk-style: gateway 169.254.0.1 on every host-side veth), and one external
// host namespace with TCP and UDP echo services on given addresses and ports.
//
//   container ns (10.255.K.x/32) ─veth─ cell ns K (ip_forward, iptables) ─veth─ external ns (198.51.100.x, …)
//
// Names carry a tag and the creating pid (`dl-<tag>-<pid>-…`), so test files run in parallel and a lab
// left behind by a killed run is deleted the next time a lab with that tag is built. Every lab is torn
// down in `destroy()` and, as a safety net, when the process exits.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnRunner } from '../../agent/runner.js';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LabContainer {
  readonly ns: string;
  readonly ip: string;
  /** Index of the cell it lives on. */
  readonly cell: number;
}

export interface LabCell {
  readonly ns: string;
  readonly index: number;
  readonly containers: readonly LabContainer[];
}

export interface LabOptions {
  /** Short tag unique per test file: 1-10 of [a-z0-9]. */
  readonly tag: string;
  /**
   * Outlive this process (`npm run lab`): names carry `keep` instead of the pid, so no other run's
   * stale-lab cleanup takes them, nothing is removed on exit, and the external services run detached.
   * `removeKeptLab(tag)` takes it all down. @default false
   */
  readonly keep?: boolean;
  /** One entry per cell: its container addresses (default 10.255.<cell+1>.<i+2> for `count`). */
  readonly cells: readonly ({ readonly count: number } | { readonly ips: readonly string[] })[];
  /** Addresses of the external host (e.g. 198.51.100.10, 203.0.113.5), with echo services on all of them. */
  readonly external: {
    readonly addresses: readonly string[];
    readonly tcpPorts?: readonly number[];
    readonly udpPorts?: readonly number[];
  };
}

/** `open`: the service answered; `refused`: reset / ICMP unreachable; `timeout`: no answer in time. */
export type ProbeResult = 'open' | 'refused' | 'timeout';

export interface Lab {
  readonly cells: readonly LabCell[];
  readonly external: { readonly ns: string; readonly addresses: readonly string[] };
  /** Run a command inside a namespace. */
  exec(ns: string, argv: readonly string[], input?: string): Promise<ExecResult>;
  /** Run a command inside a namespace and throw with its stderr when it fails. */
  execOk(ns: string, argv: readonly string[], input?: string): Promise<string>;
  tcp(from: LabContainer, host: string, port: number, timeoutMs?: number): Promise<ProbeResult>;
  udp(from: LabContainer, host: string, port: number, timeoutMs?: number): Promise<ProbeResult>;
  /** One echo request; true when a reply came back within a second. */
  ping(from: LabContainer, host: string): Promise<boolean>;
  /** Completed TCP connections (connect, read banner, close) per second, sequentially, for `durationMs`. */
  connectRate(from: LabContainer, host: string, port: number, durationMs: number): Promise<number>;
  /**
   * A TCP probe every `everyMs` from inside the container until one gives `expected`: when that probe
   * ended, in `process.hrtime.bigint()` nanoseconds (one clock for every process), or 'timeout'. The
   * prober times itself, so a probe costs no message each way (a benchmark's probes every 5 ms on ten
   * cells would otherwise keep this process busy).
   */
  watchTcp(
    from: LabContainer,
    host: string,
    port: number,
    expected: ProbeResult,
    everyMs: number,
    timeoutMs: number,
  ): Promise<bigint | 'timeout'>;
  destroy(): Promise<void>;
}

/** The word in a kept lab's names where a test lab has its creator's pid. */
const KEEP = 'keep';

const GATEWAY = '169.254.0.1';
const PREFIX = 'dl-';

export function run(argv: readonly string[], input?: string): Promise<ExecResult> {
  const [command = '', ...args] = argv;
  return spawnRunner(command, args, input);
}

async function ok(argv: readonly string[], input?: string): Promise<string> {
  const result = await run(argv, input);
  if (result.code !== 0) throw new Error(`${argv.join(' ')} exited with ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * Why a lab cannot be built here, or undefined when it can. Tests call `assertLabPrerequisites()`,
 * which fails under CI=true and lets a developer without root see why the file did nothing.
 */
export function labPrerequisiteProblem(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespace tests need root';
  for (const [tool, args] of [
    ['ip', ['netns', 'list']],
    ['iptables-save', ['--version']],
    ['iptables-restore', ['--version']],
    ['ping', ['-V']],
  ] as const) {
    const result = spawnSync(tool, args, { stdio: 'ignore' });
    if (result.error !== undefined || result.status !== 0) return `${tool} is missing or not usable`;
  }
  return undefined;
}

/** True when labs can be built; throws under CI=true when they cannot (CI must not skip them). */
export function labAvailable(): boolean {
  const problem = labPrerequisiteProblem();
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`namespace lab prerequisites missing: ${problem}`);
  console.warn(`namespace lab tests not run: ${problem}`);
  return false;
}

// ---- safety net -----------------------------------------------------------------------------------

const liveNamespaces = new Set<string>();
const liveChildren = new Set<ChildProcessWithoutNullStreams>();

function destroyNow(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const ns of liveNamespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.clear();
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', destroyNow);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete namespaces of this tag left by processes that no longer exist. */
async function deleteStale(tag: string): Promise<void> {
  const listing = await ok(['ip', 'netns', 'list']);
  const pattern = new RegExp(`^${PREFIX}${tag}-(\\d+)-\\S+`);
  for (const line of listing.split('\n')) {
    const match = pattern.exec(line.trim());
    if (match === null) continue;
    if (!pidAlive(Number(match[1]))) await run(['ip', 'netns', 'del', match[0]]);
  }
}

/**
 * Takes down a kept lab (`keep: true`): stops every process running in its namespaces (its external
 * services; `ip netns pids`, so a recycled pid is never hit) and deletes every namespace of the tag's
 * kept lab. Returns the namespaces deleted.
 */
export async function removeKeptLab(tag: string): Promise<string[]> {
  const prefix = `${PREFIX}${tag}-${KEEP}-`;
  const names = (await ok(['ip', 'netns', 'list']))
    .split('\n')
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
  for (const name of names) {
    const pids = (await ok(['ip', 'netns', 'pids', name])).split('\n').filter((pid) => /^\d+$/.test(pid));
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
  }
  for (const name of names) await ok(['ip', 'netns', 'del', name]);
  return names;
}

// ---- in-namespace programs -------------------------------------------------------------------------

const SERVICES_SCRIPT = `
const net = require('node:net'); const dgram = require('node:dgram');
const [addresses, tcp, udp] = JSON.parse(process.argv[1]);
let pending = tcp.length + udp.length * addresses.length;
const ready = () => { if (--pending === 0) console.log('ready'); };
for (const port of tcp) net.createServer((s) => { s.on('error', () => {}); s.end('ok\\n'); }).listen(port, '0.0.0.0', ready);
// One UDP socket per address, so replies leave from the address the request went to.
for (const address of addresses) for (const port of udp) {
  const s = dgram.createSocket('udp4'); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.bind(port, address, ready);
}
if (pending === 0) console.log('ready');
`;

const PROBER_SCRIPT = `
const net = require('node:net'); const dgram = require('node:dgram'); const rl = require('node:readline');
function tcp(host, port, timeout) { return new Promise((done) => {
  const s = net.connect({ host, port }); let fin = false;
  const end = (r) => { if (!fin) { fin = true; clearTimeout(t); s.destroy(); done(r); } };
  const t = setTimeout(() => end('timeout'), timeout);
  s.on('data', () => end('open')); s.on('error', (e) => end(e.code === 'ETIMEDOUT' ? 'timeout' : 'refused'));
  s.on('end', () => end('refused'));
}); }
function udp(host, port, timeout) { return new Promise((done) => {
  const s = dgram.createSocket('udp4'); let fin = false;
  const end = (r) => { if (!fin) { fin = true; clearTimeout(t); s.close(); done(r); } };
  const t = setTimeout(() => end('timeout'), timeout);
  s.on('message', () => end('open')); s.on('error', () => end('refused'));
  s.connect(port, host, (e) => { if (e) end('refused'); else s.send('ping'); });
}); }
// One full connection: connect, read the banner, let the server close first (no TIME_WAIT on our side).
function cycle(host, port, timeout) { return new Promise((done) => {
  const s = net.connect({ host, port }); let got = false; let fin = false;
  const end = (r) => { if (!fin) { fin = true; clearTimeout(t); s.destroy(); done(r); } };
  const t = setTimeout(() => end('timeout'), timeout);
  s.on('data', () => { got = true; }); s.on('error', () => end('refused')); s.on('close', () => end(got ? 'open' : 'refused'));
}); }
async function rate(host, port, ms) { const stop = Date.now() + ms; let n = 0; const start = Date.now();
  while (Date.now() < stop) { if ((await cycle(host, port, 1000)) === 'open') n++; }
  return n / ((Date.now() - start) / 1000); }
// A TCP probe every few ms until one gives the expected result: when that probe ended (CLOCK_MONOTONIC ns,
// as every process on the machine reads it), or 'timeout'. No message per probe.
async function watch(host, port, expected, every, timeout) { const stop = Date.now() + timeout;
  while (Date.now() < stop) { const began = process.hrtime.bigint();
    if ((await tcp(host, port, Math.min(300, timeout))) === expected) return String(process.hrtime.bigint());
    await new Promise((done) => setTimeout(done, Math.max(0, every - Number(process.hrtime.bigint() - began) / 1e6))); }
  return 'timeout'; }
rl.createInterface({ input: process.stdin }).on('line', async (line) => {
  const q = JSON.parse(line); let result;
  if (q.kind === 'tcp') result = await tcp(q.host, q.port, q.timeout);
  else if (q.kind === 'udp') result = await udp(q.host, q.port, q.timeout);
  else if (q.kind === 'watch') result = await watch(q.host, q.port, q.expected, q.every, q.timeout);
  else result = await rate(q.host, q.port, q.timeout);
  process.stdout.write(JSON.stringify({ id: q.id, result }) + '\\n');
});
console.log(JSON.stringify({ id: 0, result: 'ready' }));
`;

interface Prober {
  ask(
    kind: 'tcp' | 'udp' | 'rate' | 'watch',
    host: string,
    port: number,
    timeout: number,
    watch?: { readonly expected: ProbeResult; readonly every: number },
  ): Promise<string | number>;
}

function startProgram(
  ns: string,
  script: string,
  args: readonly string[],
  detached = false,
): ChildProcessWithoutNullStreams {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached,
  });
  if (detached) return child;
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
  return child;
}

function waitForLine(child: ChildProcessWithoutNullStreams, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(line));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${stderr.trim()}`)));
  });
}

async function startProber(ns: string): Promise<Prober> {
  const child = startProgram(ns, PROBER_SCRIPT, []);
  const waiting = new Map<number, (value: string | number) => void>();
  let nextId = 1;
  await waitForLine(child, `prober in ${ns}`);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const answer = JSON.parse(line) as { id: number; result: string | number };
    waiting.get(answer.id)?.(answer.result);
    waiting.delete(answer.id);
  });
  // A prober ended by destroy() (Ctrl-C in the demo) answers what was pending, and what is asked
  // later, with 'timeout'; its closed stdin must not crash the process with EPIPE.
  const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
  child.stdin.on('error', () => undefined);
  child.once('exit', () => {
    for (const answer of waiting.values()) answer('timeout');
    waiting.clear();
  });
  return {
    ask(kind, host, port, timeout, watch) {
      const id = nextId++;
      return new Promise((resolve) => {
        if (ended()) {
          resolve('timeout');
          return;
        }
        waiting.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ id, kind, host, port, timeout, ...watch })}\n`);
      });
    },
  };
}

// ---- building -------------------------------------------------------------------------------------

export async function createLab(options: LabOptions): Promise<Lab> {
  if (!/^[a-z0-9]{1,10}$/.test(options.tag)) throw new Error(`lab tag must be 1-10 of [a-z0-9], got ${options.tag}`);
  const keep = options.keep === true;
  if (!keep) installExitHook();
  await deleteStale(options.tag);
  const base = `${PREFIX}${options.tag}-${keep ? KEEP : process.pid}`;
  const owned: string[] = [];
  const addNs = async (name: string): Promise<string> => {
    await ok(['ip', 'netns', 'add', name]);
    if (!keep) liveNamespaces.add(name);
    owned.push(name);
    await ok(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  };
  const probers = new Map<string, Promise<Prober>>();
  let services: ChildProcessWithoutNullStreams | undefined;

  const destroy = async (): Promise<void> => {
    services?.kill('SIGKILL');
    for (const prober of probers.values()) {
      await prober.catch(() => undefined);
    }
    for (const child of [...liveChildren]) {
      const args = child.spawnargs;
      if (owned.some((ns) => args.includes(ns))) child.kill('SIGKILL');
    }
    for (const ns of owned.reverse()) {
      await run(['ip', 'netns', 'del', ns]);
      liveNamespaces.delete(ns);
    }
  };

  try {
    const external = await addNs(`${base}-ext`);
    // The external host is also the network between cells: container-to-container across cells goes through it.
    await ok(['ip', 'netns', 'exec', external, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const address of options.external.addresses) {
      await ok(['ip', '-n', external, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
    }
    const cells: LabCell[] = [];
    for (const [index, spec] of options.cells.entries()) {
      const ns = await addNs(`${base}-cell${index}`);
      await ok(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      const cellLink = `192.0.2.${4 * index + 1}`;
      const extLink = `192.0.2.${4 * index + 2}`;
      await ok([
        'ip',
        '-n',
        ns,
        'link',
        'add',
        'ext0',
        'type',
        'veth',
        'peer',
        'name',
        `cell${index}`,
        'netns',
        external,
      ]);
      await ok(['ip', '-n', ns, 'addr', 'add', `${cellLink}/30`, 'dev', 'ext0']);
      await ok(['ip', '-n', ns, 'link', 'set', 'ext0', 'up']);
      await ok(['ip', '-n', external, 'addr', 'add', `${extLink}/30`, 'dev', `cell${index}`]);
      await ok(['ip', '-n', external, 'link', 'set', `cell${index}`, 'up']);
      await ok(['ip', '-n', ns, 'route', 'add', 'default', 'via', extLink]);
      const ips =
        'ips' in spec ? spec.ips : Array.from({ length: spec.count }, (_, i) => `10.255.${index + 1}.${i + 2}`);
      const containers: LabContainer[] = [];
      for (const [i, ip] of ips.entries()) {
        const cns = await addNs(`${base}-c${index}-${i}`);
        const veth = `c${i}`;
        await ok(['ip', '-n', ns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', cns]);
        await ok(['ip', '-n', ns, 'addr', 'add', `${GATEWAY}/32`, 'dev', veth]);
        await ok(['ip', '-n', ns, 'link', 'set', veth, 'up']);
        await ok(['ip', '-n', ns, 'route', 'add', `${ip}/32`, 'dev', veth]);
        await ok(['ip', '-n', cns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
        await ok(['ip', '-n', cns, 'link', 'set', 'eth0', 'up']);
        await ok(['ip', '-n', cns, 'route', 'add', GATEWAY, 'dev', 'eth0']);
        await ok(['ip', '-n', cns, 'route', 'add', 'default', 'via', GATEWAY, 'dev', 'eth0']);
        // Room for many short connections (connectRate) without running out of local ports.
        await ok([
          'ip',
          'netns',
          'exec',
          cns,
          'sysctl',
          '-qw',
          'net.ipv4.ip_local_port_range=1024 65000',
          'net.ipv4.tcp_tw_reuse=1',
        ]);
        await ok(['ip', '-n', external, 'route', 'add', `${ip}/32`, 'via', cellLink]);
        containers.push({ ns: cns, ip, cell: index });
      }
      cells.push({ ns, index, containers });
    }
    services = startProgram(
      external,
      SERVICES_SCRIPT,
      [JSON.stringify([options.external.addresses, options.external.tcpPorts ?? [], options.external.udpPorts ?? []])],
      keep,
    );
    await waitForLine(services, 'external services');
    if (keep) {
      // Let it run on alone: it writes nothing after `ready`, and this process may now exit.
      services.stdout.destroy();
      services.stderr.destroy();
      services.stdin.destroy();
      services.unref();
    }

    const prober = (from: LabContainer): Promise<Prober> => {
      let started = probers.get(from.ns);
      if (started === undefined) {
        started = startProber(from.ns);
        probers.set(from.ns, started);
      }
      return started;
    };
    const exec = (ns: string, argv: readonly string[], input?: string) =>
      run(['ip', 'netns', 'exec', ns, ...argv], input);
    return {
      cells,
      external: { ns: external, addresses: [...options.external.addresses] },
      exec,
      execOk: (ns, argv, input) => ok(['ip', 'netns', 'exec', ns, ...argv], input),
      tcp: async (from, host, port, timeoutMs = 1000) =>
        (await (await prober(from)).ask('tcp', host, port, timeoutMs)) as ProbeResult,
      udp: async (from, host, port, timeoutMs = 400) =>
        (await (await prober(from)).ask('udp', host, port, timeoutMs)) as ProbeResult,
      ping: async (from, host) => (await exec(from.ns, ['ping', '-n', '-q', '-c1', '-W1', host])).code === 0,
      connectRate: async (from, host, port, durationMs) =>
        Number(await (await prober(from)).ask('rate', host, port, durationMs)),
      watchTcp: async (from, host, port, expected, everyMs, timeoutMs) => {
        const seen = await (await prober(from)).ask('watch', host, port, timeoutMs, { expected, every: everyMs });
        return typeof seen === 'string' && /^\d+$/.test(seen) ? BigInt(seen) : 'timeout';
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
