// A DNS server inside a lab namespace: Debian's dnsmasq answering A records from a hosts file it
// re-reads on SIGHUP, with a fixed TTL, and nothing else (no upstream, no /etc/hosts, no DHCP, no
// configuration file of the machine). For tests and demos of host names (agent/names/).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './netns-lab.js';

export interface LabDnsOptions {
  /** The namespace it runs in; `address` must already be one of its addresses. */
  readonly ns: string;
  readonly address: string;
  /** The TTL of every answer (`--local-ttl`). */
  readonly ttlSeconds: number;
  /** Name → its IPv4 addresses. */
  readonly records: Readonly<Record<string, readonly string[]>>;
}

export interface LabDns {
  readonly address: string;
  /** Replaces every record (the hosts file is rewritten, dnsmasq re-reads it on SIGHUP). */
  setRecords(records: Readonly<Record<string, readonly string[]>>): void;
  /** Stops the server (SIGTERM, then waits for it); `start` runs it again with the current records. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

/** Why dnsmasq cannot run here, or undefined. */
export function dnsmasqProblem(): string | undefined {
  const result = spawnSync('dnsmasq', ['--version'], { stdio: 'ignore' });
  return result.error !== undefined || result.status !== 0 ? 'dnsmasq is missing or not usable' : undefined;
}

/** True when dnsmasq runs here; under CI=true a missing one throws (CI must not skip the tests that need it). */
export function dnsmasqAvailable(): boolean {
  const problem = dnsmasqProblem();
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`lab DNS prerequisite missing: ${problem}`);
  console.warn(`lab DNS tests not run: ${problem}`);
  return false;
}

const hostsText = (records: Readonly<Record<string, readonly string[]>>): string =>
  Object.entries(records)
    .flatMap(([name, addresses]) => addresses.map((address) => `${address} ${name}\n`))
    .join('');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startLabDns(options: LabDnsOptions): Promise<LabDns> {
  // dnsmasq reads the hosts file again as `nobody` after SIGHUP: the folder must be readable to it.
  const dir = mkdtempSync(join(tmpdir(), 'lab-dns-'));
  chmodSync(dir, 0o755);
  const hosts = join(dir, 'hosts');
  const write = (records: Readonly<Record<string, readonly string[]>>): void =>
    writeFileSync(hosts, hostsText(records), { mode: 0o644 });
  write(options.records);
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const started = spawn(
      'ip',
      [
        'netns',
        'exec',
        options.ns,
        'dnsmasq',
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--bind-interfaces',
        `--listen-address=${options.address}`,
        '--port=53',
        `--addn-hosts=${hosts}`,
        `--local-ttl=${options.ttlSeconds}`,
        `--pid-file=${join(dir, 'dnsmasq.pid')}`,
        '--log-facility=-',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    live.add(started);
    started.once('exit', () => live.delete(started));
    child = started;
    // Listening once its socket shows up in the namespace (dnsmasq binds before it reads the hosts file).
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (started.exitCode !== null) throw new Error(`dnsmasq exited with ${started.exitCode}: ${stderr.trim()}`);
      const sockets = await run(['ip', 'netns', 'exec', options.ns, 'ss', '-lnu']);
      if (sockets.stdout.includes(`${options.address}:53 `)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`dnsmasq did not listen on ${options.address}:53: ${stderr.trim()}`);
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    address: options.address,
    setRecords: (records) => {
      write(records);
      child?.kill('SIGHUP');
    },
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
