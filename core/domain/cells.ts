// What each cell reports after a sync, and how far behind the latest policy version it is.
import { GLOBAL_SHARD, type ShardKey } from './shard-keys.js';

export interface CellReport {
  /** The cell's name: its EC2 instance id in AWS, the configured name in local mode. */
  readonly name: string;
  readonly appliedVersion: number;
  /** ISO time of the sync that first applied this version. */
  readonly appliedAt: string;
  /** ISO time of the cell's latest sync, whatever it changed: how recently the cell was heard from. */
  readonly syncedAt: string;
  readonly containers: number;
  readonly rules: number;
  /**
   * The source shards its containers use (source-shards.ts), so the fan-out can tell only the cells
   * hosting a changed source; absent on reports of agents from before shards.
   */
  readonly sources?: readonly string[];
}

/** Where cell reports live. */
export interface CellRegistry {
  record(report: CellReport): Promise<boolean>;
  list(): Promise<CellReport[]>;
  currentVersion(): Promise<{ version: number; writtenAt: string | undefined }>;
  /** The published change log, when the publisher logs source shards (for lag; see cellList). */
  changeLog?(): Promise<ChangeLog | undefined>;
}

export interface CellStatus {
  readonly name: string;
  readonly applied_version: number;
  readonly applied_at: string;
  readonly synced_at: string;
  readonly containers: number;
  readonly rules: number;
  /** Policy versions written since the one the cell applied. 0: up to date. */
  readonly lag_versions: number;
  /** Seconds since the latest version was written, if the cell has not applied it; else 0. */
  readonly lag_seconds: number;
}

export interface CellList {
  readonly current_version: number;
  readonly total_cells: number;
  readonly cells: CellStatus[];
}

/**
 * `log` (source shards): a cell that no change since its version concerned is up to date, lag 0,
 * although its version is older; the fan-out rightly did not tell it (isBehind).
 */
export function cellList(
  reports: readonly CellReport[],
  current: { version: number; writtenAt: string | undefined },
  now: Date,
  log?: ChangeLog,
): CellList {
  const cells = reports.map((report): CellStatus => {
    const concerned =
      log === undefined || log.version < current.version || isBehind(report, log.version, log.versions, log.entries);
    const lagVersions = concerned ? Math.max(0, current.version - report.appliedVersion) : 0;
    const since = current.writtenAt ? Date.parse(current.writtenAt) : Number.NaN;
    return {
      name: report.name,
      applied_version: report.appliedVersion,
      applied_at: report.appliedAt,
      synced_at: report.syncedAt,
      containers: report.containers,
      rules: report.rules,
      lag_versions: lagVersions,
      lag_seconds: lagVersions > 0 && Number.isFinite(since) ? Math.max(0, (now.getTime() - since) / 1000) : 0,
    };
  });
  return { current_version: current.version, total_cells: cells.length, cells };
}

/**
 * Whether a cell that reported an older version than `pointerVersion` still has to converge: a
 * publish after its version changed a source it hosts (or the global shard), or the change log
 * (`log`: the pointer's logged versions, `entries` their change entries) cannot tell. A cell the
 * fan-out rightly did not tell is not behind.
 */
export function isBehind(
  report: CellReport,
  pointerVersion: number,
  log: readonly number[] | undefined,
  entries: ReadonlyMap<number, { readonly keys: readonly ShardKey[] | 'all' }>,
): boolean {
  if (report.appliedVersion >= pointerVersion) return false;
  if (log === undefined || report.sources === undefined || !log.includes(report.appliedVersion)) return true;
  const hosted = new Set(report.sources);
  for (const version of log) {
    if (version <= report.appliedVersion) continue;
    const keys = entries.get(version)?.keys;
    if (keys === undefined || keys === 'all' || keys.some((key) => key === GLOBAL_SHARD || hosted.has(key)))
      return true;
  }
  return false;
}

/** The change log as the pointer lists it: its version, the logged versions and their entries. */
export interface ChangeLog {
  readonly version: number;
  readonly versions: readonly number[];
  readonly entries: ReadonlyMap<number, { readonly keys: readonly ShardKey[] | 'all' }>;
}
