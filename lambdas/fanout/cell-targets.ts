// Which cells a change concerns: those whose last report says they host a source shard the publish
// changed. Whenever that cannot be told for sure, every cell is told (the tag target), as before.
import type { CellReport } from '../../core/domain/cells.js';
import { GLOBAL_SHARD, type ShardKey } from '../../core/domain/shard-keys.js';

/**
 * Above this many hosting cells every cell is told: one SendCommand to the tag instead of more than
 * 20 calls of 50 instance ids (SSM throttles SendCommand at a few calls per second).
 */
export const DEFAULT_MAX_TARGETED_CELLS = 1_000;

export type CellTargets =
  | { readonly kind: 'all'; readonly reason: string }
  | { readonly kind: 'cells'; readonly names: readonly string[] };

export interface TargetOptions {
  /** @default DEFAULT_MAX_TARGETED_CELLS */
  readonly maxCells?: number;
  /** Reports older than this are of cells gone (or silent: the periodic sync reaches them). */
  readonly liveCellWindowMs: number;
  readonly now: Date;
}

/**
 * The cells to tell about a publish that changed `changed` (undefined: not known). Every cell when
 * the change is unknown or `all`, touches the global shard, no cell has reported yet, a live cell
 * does not report its sources (an older agent), or more than `maxCells` cells host it.
 */
export function cellsToTell(
  changed: readonly ShardKey[] | 'all' | undefined,
  reports: readonly CellReport[],
  options: TargetOptions,
): CellTargets {
  if (changed === undefined) return { kind: 'all', reason: 'the change is not logged' };
  if (changed === 'all') return { kind: 'all', reason: 'every source changed' };
  if (changed.includes(GLOBAL_SHARD)) return { kind: 'all', reason: 'a global binding changed' };
  const since = options.now.getTime() - options.liveCellWindowMs;
  const live = reports.filter((report) => Date.parse(report.syncedAt) >= since);
  if (live.length === 0) return { kind: 'all', reason: 'no cell has reported recently' };
  const keys = new Set(changed);
  const names: string[] = [];
  for (const report of live) {
    if (report.sources === undefined) return { kind: 'all', reason: `cell ${report.name} does not report its sources` };
    if (report.sources.some((key) => keys.has(key))) names.push(report.name);
  }
  const max = options.maxCells ?? DEFAULT_MAX_TARGETED_CELLS;
  if (names.length > max) return { kind: 'all', reason: `${names.length} cells host the change (above ${max})` };
  return { kind: 'cells', names: names.sort() };
}
