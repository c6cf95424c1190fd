// `egressctl cells`: each cell's applied version, lag and last sync, and an exit code for scripts and
// monitors: EXIT_CELLS_BEHIND when a cell is more than --max-lag versions behind, or has not synced
// for --max-age seconds (the periodic resync is every 30 minutes, so by default an hour means the
// cell has stopped syncing).
import { API_PREFIX } from '../../lambdas/api/routes.js';
import { type CellList, type CellStatus, cellListSchema, decodeAnswer } from '../answers.js';
import type { CommandSpec, Invocation } from '../command-table.js';
import { type CtlContext, printJson } from '../context.js';
import { UsageError } from '../errors.js';
import { EXIT_CELLS_BEHIND, EXIT_OK } from '../exit-codes.js';
import { renderTable } from '../table.js';

export const DEFAULT_MAX_LAG = 0;
export const DEFAULT_MAX_AGE_SECONDS = 3600;

export interface Thresholds {
  /** Versions a cell may be behind. */
  readonly maxLag: number;
  /** Seconds since a cell's last sync. */
  readonly maxAgeSeconds: number;
}

function wholeNumber(invocation: Invocation, name: string, fallback: number): number {
  const text = invocation.string(name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name}: ${JSON.stringify(text)} is not a whole number (0 or more)`);
  return Number(text);
}

const ageSeconds = (cell: CellStatus, now: Date): number =>
  Math.max(0, (now.getTime() - Date.parse(cell.synced_at)) / 1000);

/** Why a cell is past the thresholds, or undefined when it is fine. */
export function cellProblem(cell: CellStatus, thresholds: Thresholds, now: Date): string | undefined {
  if (cell.lag_versions > thresholds.maxLag) return `BEHIND ${cell.lag_versions}`;
  const age = ageSeconds(cell, now);
  if (!Number.isFinite(age) || age > thresholds.maxAgeSeconds) return 'STALE';
  return undefined;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${Math.floor(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

export function cellTable(list: CellList, thresholds: Thresholds, now: Date): string {
  const rows = list.cells.map((cell) => [
    cell.name,
    String(cell.applied_version),
    String(cell.lag_versions),
    cell.lag_versions > 0 ? duration(cell.lag_seconds) : '-',
    `${duration(ageSeconds(cell, now))} ago`,
    String(cell.containers),
    String(cell.rules),
    cellProblem(cell, thresholds, now) ?? 'ok',
  ]);
  const table = renderTable(
    ['CELL', 'APPLIED', 'LAG', 'BEHIND FOR', 'LAST SYNC', 'CONTAINERS', 'RULES', 'STATUS'],
    rows,
  );
  const none = list.cells.length === 0 ? 'no cell has reported yet\n' : '';
  return `current version ${list.current_version}, ${list.total_cells} cell(s)\n${table}${none}`;
}

export const CELL_COMMANDS: readonly CommandSpec<CtlContext>[] = [
  {
    words: ['cells'],
    summary: 'each cell with its applied version, lag and last sync; exit 4 when one is behind',
    options: {
      'max-lag': {
        type: 'string',
        value: 'VERSIONS',
        description: 'a cell more versions behind than this is BEHIND',
        defaultText: String(DEFAULT_MAX_LAG),
      },
      'max-age': {
        type: 'string',
        value: 'SECONDS',
        description: 'a cell that has not synced for longer is STALE',
        defaultText: `${DEFAULT_MAX_AGE_SECONDS} (twice the periodic resync)`,
      },
    },
    notes: [
      'A cell is BEHIND when its lag (versions written since the one it applied that concern it) is above',
      '--max-lag, and STALE when its last sync of any kind is older than --max-age. Either makes the exit',
      'code 4; --json prints the API answer and exits the same way. A change takes about a second to',
      'reach the cells, so a monitor should allow for it: --max-lag 0 right after a write may well exit 4.',
    ],
    run: async (invocation, context) => {
      const thresholds: Thresholds = {
        maxLag: wholeNumber(invocation, 'max-lag', DEFAULT_MAX_LAG),
        maxAgeSeconds: wholeNumber(invocation, 'max-age', DEFAULT_MAX_AGE_SECONDS),
      };
      const api = await context.api();
      const raw = await api.request('GET', `${API_PREFIX}/cells`);
      const list = decodeAnswer(cellListSchema, raw, 'cells');
      const now = context.now();
      if (context.json) printJson(context.io, raw);
      else context.io.stdout(cellTable(list, thresholds, now));
      const behind = list.cells.some((cell) => cellProblem(cell, thresholds, now) !== undefined);
      return behind ? EXIT_CELLS_BEHIND : EXIT_OK;
    },
  },
];
