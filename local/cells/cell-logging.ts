// Connection logging for local cells that name a `"log"` file in EGRESS_LOCAL_CELLS: per cell, one
// ulogd inside the cell's namespace (NFLOG groups are per namespace) reading the agent's deny-log
// group into JSON lines, and the agent's log forwarder (agent/logging/) appending them, enriched with
// the container's identity from the cell's containers file, to that file. What a cell runs by hand
// (docs/agent.md, Connection logging), started and stopped with local mode.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Forwarder, startForwarder } from '../../agent/logging/log-forwarder.js';
import { renderUlogdConfig } from '../../agent/logging/ulogd-config.js';
import type { Log } from '../../core/log.js';
import { DEFAULT_LOG_GROUP } from '../../core/plan/deny-log.js';
import { tiedToParent } from '../parent-death.js';
import type { LocalCell } from './local-cells.js';

export const ULOGD_BINARY = 'ulogd';
/** How long ulogd gets to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 3000;

export interface CellLoggingOptions {
  readonly cells: readonly LocalCell[];
  /** Each cell's ulogd config, JSON file and messages go to <dir>/<cell name>/. */
  readonly dir: string;
  readonly log: Log;
  /** The agents' `--log-group`. @default DEFAULT_LOG_GROUP */
  readonly group?: number;
  /** @default 'ulogd' (found on PATH; Debian's ulogd2 installs /usr/sbin/ulogd) */
  readonly ulogd?: string;
}

export interface CellLogging {
  stop(): Promise<void>;
}

interface Running {
  readonly ulogd: ChildProcess;
  readonly forwarder: Forwarder;
}

/** Cells that log: a namespace and a log file (the dry-run cell has no namespace, so no kernel to log). */
export function loggingCells(cells: readonly LocalCell[]): (LocalCell & { netns: string; log: string })[] {
  return cells.flatMap((cell) =>
    cell.netns !== undefined && cell.log !== undefined ? [{ ...cell, netns: cell.netns, log: cell.log }] : [],
  );
}

export async function startCellLogging(options: CellLoggingOptions): Promise<CellLogging> {
  const cells = loggingCells(options.cells);
  const ulogdBinary = options.ulogd ?? ULOGD_BINARY;
  if (cells.length > 0) {
    const probe = spawnSync(ulogdBinary, ['--version'], { stdio: 'ignore' });
    if (probe.error !== undefined || probe.status !== 0) {
      throw new Error(
        `EGRESS_LOCAL_CELLS: cell ${cells[0]?.name} names a "log" file, but ${ulogdBinary} cannot be run (apt-get install ulogd2)`,
      );
    }
  }
  const running: Running[] = [];
  const stop = async (): Promise<void> => {
    for (const { ulogd, forwarder } of running.splice(0)) {
      const exited = new Promise<void>((done) => {
        if (ulogd.exitCode !== null || ulogd.signalCode !== null) done();
        else ulogd.once('exit', () => done());
      });
      ulogd.kill('SIGTERM');
      const kill = setTimeout(() => ulogd.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(kill);
      await forwarder.stop();
    }
  };
  try {
    for (const cell of cells) {
      const cellDir = join(options.dir, cell.name);
      mkdirSync(cellDir, { recursive: true });
      const json = join(cellDir, 'ulogd.json');
      const config = join(cellDir, 'ulogd.conf');
      // A fresh file each start: the forwarder reads it from its start, so nothing is written twice.
      rmSync(json, { force: true });
      writeFileSync(
        config,
        renderUlogdConfig({
          group: options.group ?? DEFAULT_LOG_GROUP,
          output: json,
          logfile: join(cellDir, 'ulogd.log'),
        }),
      );
      const log = cell.log;
      const forwarder = await startForwarder({
        input: json,
        containers: cell.containers,
        write: (text) => appendFile(log, text),
        warn: (message) => options.log.warn('cell log forwarder', { cell: cell.name, problem: message }),
      });
      // `ip netns exec` runs the command in its own process: tied to us, ulogd ends with local mode
      // even when that is killed with SIGKILL.
      const [command = 'ip', ...args] = tiedToParent(['ip', 'netns', 'exec', cell.netns, ulogdBinary, '-c', config]);
      const ulogd = spawn(command, args, { stdio: 'ignore' });
      running.push({ ulogd, forwarder });
      ulogd.once('exit', (code, signal) => {
        if (running.some((each) => each.ulogd === ulogd)) {
          options.log.error('ulogd of a local cell stopped', { cell: cell.name, code, signal });
        }
      });
      options.log.info('cell logging refused connections', { cell: cell.name, file: log });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}
