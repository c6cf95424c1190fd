// The host-name refresh of local cells: per cell with a namespace, one `agent names --from-sync`
// process inside that namespace (its resolver is the namespace's: /etc/netns/<ns>/resolv.conf when
// there is one, else the host's; its kernel the cell's), following the names document the cell's
// syncs write in its state directory. What the sync document's InstallNamesRefresh step runs under
// systemd on a real cell (lib/cell-names-units.ts), started and stopped with local mode; a process
// that ends on its own is started again after RESTART_MS, as systemd's Restart=on-failure does.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Log } from '../../core/log.js';
import { formatDenyNetworks } from '../../core/plan/deny-networks.js';
import { DEFAULT_OVERLAY_CIDR, type DenyNetworks } from '../../core/plan/plan.js';
import { tiedToParent } from '../parent-death.js';
import type { LocalCell } from './local-cells.js';

/** Pause before a refresh that ended is started again (the unit's RestartSec). */
export const RESTART_MS = 5000;
/** How long a refresh gets to end after SIGTERM before it is killed. */
const STOP_GRACE_MS = 3000;

export interface CellNamesOptions {
  readonly cells: readonly LocalCell[];
  /** The bundled agent (agent-bundle.ts), as the cells' syncs run it. */
  readonly agentFile: string;
  /** Each cell's state directory is <stateRoot>/<cell name>, where its syncs write the names document. */
  readonly stateRoot: string;
  /** @default DEFAULT_OVERLAY_CIDR */
  readonly overlayCidr?: string;
  /** As the cells' syncs get them: no answer may add an address of the `always` list. */
  readonly denyNetworks?: DenyNetworks;
  /** Where the refreshes' lines go, each with its cell's name. */
  readonly log: Log;
  /** For tests. @default RESTART_MS */
  readonly restartMs?: number;
}

export interface CellNames {
  stop(): Promise<void>;
}

/** The command line of one cell's refresh (the dry-run cell, without a namespace, has none). */
export function cellNamesCommand(cell: LocalCell, options: CellNamesOptions): string[] | undefined {
  if (cell.netns === undefined) return undefined;
  return tiedToParent([
    'ip',
    'netns',
    'exec',
    cell.netns,
    process.execPath,
    options.agentFile,
    'names',
    '--from-sync',
    '--state-dir',
    join(options.stateRoot, cell.name),
    '--overlay-cidr',
    options.overlayCidr ?? DEFAULT_OVERLAY_CIDR,
    ...(options.denyNetworks === undefined ? [] : ['--deny-networks', formatDenyNetworks(options.denyNetworks)]),
  ]);
}

/** One line of a refresh, as local mode's log line with the cell's name (its own JSON when it is one). */
function forward(log: Log, cell: string, line: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) {
    log.warn('names refresh output', { cell, line });
    return;
  }
  const { level, message, service: _service, timestamp: _timestamp, ...rest } = parsed as Record<string, unknown>;
  const text = typeof message === 'string' ? message : 'names refresh output';
  const attributes = { cell, ...rest };
  if (level === 'ERROR') log.error(text, attributes);
  else if (level === 'WARN') log.warn(text, attributes);
  else log.info(text, attributes);
}

export function startCellNames(options: CellNamesOptions): CellNames {
  const running = new Map<string, ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  const start = (cell: LocalCell, argv: readonly string[]): void => {
    const [command = '', ...args] = argv;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.set(cell.name, child);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => forward(options.log, cell.name, line));
    }
    child.on('error', (error) =>
      options.log.error('names refresh did not start', { cell: cell.name, error: error.message }),
    );
    child.on('exit', (code, signal) => {
      running.delete(cell.name);
      if (stopping) return;
      const restartMs = options.restartMs ?? RESTART_MS;
      options.log.error('names refresh ended, starting it again', { cell: cell.name, code, signal, restartMs });
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopping) start(cell, argv);
      }, restartMs);
      timers.add(timer);
    });
  };
  for (const cell of options.cells) {
    const argv = cellNamesCommand(cell, options);
    if (argv !== undefined) start(cell, argv);
  }
  return {
    async stop() {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(
        [...running.values()].map(
          (child) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
              child.once('exit', () => {
                clearTimeout(kill);
                done();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      running.clear();
    },
  };
}
