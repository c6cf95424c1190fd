// The fan-out: a batch of stream records in, at most one snapshot and one command to the cells out.
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { CellRegistry } from '../../core/domain/cells.js';
import type { ChangePublisher, SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { VersionChanges } from '../../core/domain/version-changes.js';
import type { Log } from '../../core/log.js';
import type { ShardSource } from '../../core/store/sharded-snapshot-store.js';
import type { CellCommander } from './cell-commander.js';
import { type CellTargets, cellsToTell } from './cell-targets.js';
import type { FanoutMetrics } from './fanout-metrics.js';
import { REPUBLISH_DEFAULTS } from './run-limits.js';
import { type PolicySource, publishSnapshot } from './snapshot-publisher.js';
import { changesOf, isVersionRecord, versionOf } from './stream-filter.js';
import { tellCells } from './tell-cells.js';

export interface FanoutDependencies {
  readonly policies: PolicySource;
  /** With `readChanges` (source shards), only the cells hosting a changed source are told. */
  readonly snapshots: SnapshotStore & Partial<Pick<ShardSource, 'readChanges'>> & Partial<ChangePublisher>;
  readonly commander: CellCommander;
  /** Cells' reports, with the sources each hosts; omitted, every cell is told. */
  readonly cells?: Pick<CellRegistry, 'list'>;
  /** Reports older than this do not count (cell-targets.ts). @default REPUBLISH_DEFAULTS.liveCellWindowMs */
  readonly liveCellWindowMs?: number;
  /** @default DEFAULT_MAX_TARGETED_CELLS (cell-targets.ts) */
  readonly maxTargetedCells?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly log: Log;
  readonly metrics: FanoutMetrics;
}

/**
 * The cells that host what the publish of `version` changed, or all of them when that is unclear.
 * `reports` are the cells' reports, read while the snapshot was published (they do not depend on it).
 */
async function targetsOf(
  deps: FanoutDependencies,
  version: number,
  reports: Promise<Awaited<ReturnType<CellRegistry['list']>>> | undefined,
): Promise<CellTargets> {
  const readChanges = deps.snapshots.readChanges?.bind(deps.snapshots);
  if (reports === undefined || readChanges === undefined) return { kind: 'all', reason: 'cells are not targeted' };
  const [entries, cells] = await Promise.all([readChanges([version]), reports]);
  return cellsToTell(entries.get(version)?.keys, cells, {
    liveCellWindowMs: deps.liveCellWindowMs ?? REPUBLISH_DEFAULTS.liveCellWindowMs,
    now: (deps.now ?? (() => new Date()))(),
    ...(deps.maxTargetedCells === undefined ? {} : { maxCells: deps.maxTargetedCells }),
  });
}

/**
 * Resolves when the batch is handled and rejects when it must be retried. It reports no item
 * failures: the mapping does not ask for them, since the batch is one unit of work.
 */
export type FanoutHandler = (event: DynamoDBStreamEvent) => Promise<void>;

/**
 * Coalesces the batch: however many versions it holds, the cells are told once, to converge to the
 * newest. On failure it logs and rethrows: the invocation counts in Lambda's Errors metric (the
 * FanoutErrors alarm), and the event-source mapping retries the whole batch, bisects it, and finally
 * hands it to the on-failure queue.
 */
export function createFanoutHandler(deps: FanoutDependencies): FanoutHandler {
  return async (event) => {
    const records = event.Records ?? [];
    // Each version's description (undefined: not described); a version seen twice (a retried
    // batch) keeps the one description its single write made.
    const changes = new Map<number, VersionChanges | undefined>();
    for (const record of records.filter(isVersionRecord)) {
      const version = versionOf(record);
      if (version !== undefined) changes.set(version, changesOf(record));
    }
    if (changes.size === 0) return;
    const newest = Math.max(...changes.keys());
    // Read beside the publish, not after it: every step after the pointer moves delays the cells.
    const reports = deps.cells?.list();
    reports?.catch(() => undefined);
    try {
      // The cells are told as soon as the snapshot can be read (during the store's clean-up), or after
      // the call when it published nothing (a newer or the same snapshot was already out).
      let told: { readonly version: number; readonly targets: CellTargets } | undefined;
      const tell = async (version: number) => {
        const targets = await targetsOf(deps, version, reports);
        await tellCells(deps, 'stream', version, targets.kind === 'all' ? undefined : targets.names);
        told = { version, targets };
        return told;
      };
      const published = await publishSnapshot(deps.policies, deps.snapshots, { published: tell, changes });
      const { targets } = told?.version === published.version ? told : await tell(published.version);
      deps.log.info('cells told to converge', {
        records: records.length,
        newestVersion: newest,
        snapshotVersion: published.version,
        snapshotWritten: published.written,
        published: published.how,
        ...(published.whyWhole === undefined ? {} : { whyWhole: published.whyWhole }),
        ...(targets.kind === 'all'
          ? { cellsTold: 'all', why: targets.reason }
          : { cellsTold: targets.names.length, cells: targets.names.slice(0, 20) }),
      });
      deps.metrics.record({
        trigger: 'stream',
        snapshotVersion: published.version,
        snapshotPublished: published.written,
        cellsTold: true,
      });
    } catch (error) {
      deps.log.error('fan-out failed; the batch will be retried', { newestVersion: newest, error });
      // Throwing, not reporting item failures: a failure reported in the response would count as a
      // successful invocation and hide it from the Errors alarm.
      throw error;
    }
  };
}
