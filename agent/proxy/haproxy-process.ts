// One cell's HAProxy in master-worker mode: started as a daemon (`-W -D`) with a pid file and a
// master CLI socket, every configuration checked with `haproxy -c` before it replaces the one in use,
// reloaded with SIGUSR2 to the master (the new workers take over the listeners; the old ones stop
// accepting and finish the connections they carry, up to `hard-stop-after`), stopped with SIGTERM.
// Commands go through the runner (`netnsRunner` for a namespace cell); signals and the master socket
// need no namespace (pids and unix socket paths are the host's).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine } from '../errors.js';
import { type CommandRunner, spawnRunner } from '../runner.js';
import { ProxyConfigError, ProxyProcessError } from './errors.js';
import { type MasterProcess, masterCommand, parseShowProc } from './master-cli.js';

export interface ProxyProcessOptions {
  /** This proxy's own directory (absolute): its configuration, pid file and master socket live there. */
  readonly dir: string;
  /** Runs `haproxy` (inside the cell's namespace for a namespace cell). @default spawnRunner */
  readonly runner?: CommandRunner;
  /** @default 'haproxy' (through the PATH) */
  readonly haproxy?: string;
  /** How long start, reload and stop may take. @default 10_000 */
  readonly timeoutMs?: number;
}

export interface ProxyPaths {
  readonly config: string;
  readonly pidFile: string;
  readonly socket: string;
}

export interface ProxyProcess {
  readonly paths: ProxyPaths;
  /** Throws ProxyConfigError when `haproxy -c` refuses `config`; writes nothing in use. */
  check(config: string): Promise<void>;
  /** Checks, writes and starts; waits for a worker. Throws when already running. */
  start(config: string): Promise<void>;
  /**
   * Checks `config`; only if HAProxy accepts it, writes it and reloads, waiting for the master to
   * report the reload. A refused configuration leaves the running proxy and its file as they were.
   */
  reload(config: string): Promise<void>;
  /** Starts when not running, reloads otherwise. */
  apply(config: string): Promise<'started' | 'reloaded'>;
  /** Stops master and workers (connections are closed); nothing when not running. */
  stop(): Promise<void>;
  /** The master's view, or undefined when this proxy is not running. */
  status(): Promise<MasterProcess | undefined>;
}

/** Unix socket paths are limited to 107 bytes. */
const MAX_SOCKET_PATH = 107;
const POLL_MS = 50;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Appended to the configuration file after a reload the master did not report in time (a comment). */
export const UNCONFIRMED_RELOAD = '# dynamic-egress: a reload was not confirmed; the next sync reloads\n';

export function proxyPaths(dir: string): ProxyPaths {
  return { config: join(dir, 'haproxy.cfg'), pidFile: join(dir, 'haproxy.pid'), socket: join(dir, 'master.sock') };
}

export function createProxyProcess(options: ProxyProcessOptions): ProxyProcess {
  if (!options.dir.startsWith('/') || /[\s'"\\:]/.test(options.dir)) {
    throw new ProxyProcessError(
      `proxy dir must be an absolute path without spaces, quotes or ':', got ${JSON.stringify(options.dir)}`,
    );
  }
  const paths = proxyPaths(options.dir);
  if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH) {
    throw new ProxyProcessError(`proxy dir is too long for a unix socket path: ${paths.socket}`);
  }
  const runner = options.runner ?? spawnRunner;
  const haproxy = options.haproxy ?? 'haproxy';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const candidate = `${paths.config}.next`;

  /** The master's pid, when the pid file names a live haproxy started on our configuration. */
  const masterPid = (): number | undefined => {
    let text: string;
    try {
      text = readFileSync(paths.pidFile, 'utf8');
    } catch {
      // None yet, or gone for a moment: a reloading master writes its pid file anew.
      return undefined;
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/.test(stat)) return undefined; // Exited, not yet reaped.
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      // A pid file outliving its process may name a recycled pid: only ours has our configuration.
      const at = argv.indexOf('-f');
      return at >= 0 && argv[at + 1] === paths.config ? pid : undefined;
    } catch {
      return undefined;
    }
  };

  const status = async (): Promise<MasterProcess | undefined> => {
    if (masterPid() === undefined) return undefined;
    try {
      return parseShowProc(await masterCommand(paths.socket, 'show proc'));
    } catch {
      return undefined;
    }
  };

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new ProxyProcessError(`haproxy: ${what} within ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  };

  /** Writes `config` beside the one in use (`.next`) and has HAProxy check it; removes it when refused. */
  const checked = async (config: string): Promise<void> => {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    writeFileSync(candidate, config, { mode: 0o600 });
    const result = await runner(haproxy, ['-c', '-f', candidate]);
    if (result.code !== 0) {
      rmSync(candidate, { force: true });
      const alert = result.stderr.split('\n').find((line) => line.includes('[ALERT]')) ?? firstLine(result.stderr);
      throw new ProxyConfigError(
        `haproxy refused the configuration (exit ${result.code}): ${alert.trim()}`,
        result.stderr,
      );
    }
  };

  const start = async (config: string): Promise<void> => {
    if (masterPid() !== undefined) throw new ProxyProcessError('haproxy is already running for this proxy');
    await checked(config);
    renameSync(candidate, paths.config);
    rmSync(paths.pidFile, { force: true });
    const result = await runner(haproxy, ['-W', '-D', '-f', paths.config, '-p', paths.pidFile, '-S', paths.socket]);
    if (result.code !== 0) {
      throw new ProxyProcessError(`haproxy did not start (exit ${result.code}): ${firstLine(result.stderr)}`);
    }
    await waitFor('no worker started', async () => {
      const current = await status();
      return current !== undefined && current.workers.length > 0 ? current : undefined;
    });
  };

  const reload = async (config: string): Promise<void> => {
    const before = await status();
    const pid = masterPid();
    if (before === undefined || pid === undefined)
      throw new ProxyProcessError('haproxy is not running: start it first');
    await checked(config);
    const previous = readFileSync(paths.config, 'utf8');
    renameSync(candidate, paths.config);
    process.kill(pid, 'SIGUSR2');
    let after: MasterProcess;
    try {
      after = await waitFor('the reload was not reported', async () => {
        const current = await status();
        return current !== undefined && current.reloads > before.reloads && current.workers.length > 0
          ? current
          : undefined;
      });
    } catch (error) {
      // Whether the workers run the new configuration or the previous one is unknown (the master may
      // still reload, late). The file must then equal neither: a later sync of either would find it
      // equal, skip the reload and put redirects in front of workers that may run the other. The
      // previous configuration with a line no rendering has: the next sync reloads, whatever it wants.
      const ended = previous.endsWith('\n') ? previous : `${previous}\n`;
      // Replaced whole (a late master may be reading it): written beside, then renamed over.
      writeFileSync(candidate, `${ended}${UNCONFIRMED_RELOAD}`, { mode: 0o600 });
      renameSync(candidate, paths.config);
      throw error;
    }
    if (after.failedReloads > before.failedReloads) {
      // The master kept the previous workers; keep the file they run on, too.
      writeFileSync(paths.config, previous, { mode: 0o600 });
      throw new ProxyProcessError('haproxy reported the reload as failed; the previous configuration stays in use');
    }
  };

  const stop = async (): Promise<void> => {
    const pid = masterPid();
    if (pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      await waitFor('the master did not exit', async () => (masterPid() === undefined ? true : undefined));
    }
    rmSync(paths.pidFile, { force: true });
    rmSync(paths.socket, { force: true });
  };

  return {
    paths,
    check: async (config) => {
      await checked(config);
      rmSync(candidate, { force: true });
    },
    start,
    reload,
    apply: async (config) => {
      if (masterPid() === undefined) {
        await start(config);
        return 'started';
      }
      await reload(config);
      return 'reloaded';
    },
    stop,
    status,
  };
}
