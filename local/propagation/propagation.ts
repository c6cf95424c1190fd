// Local mode's propagation loop, the same one AWS runs: DynamoDB Local's stream → the fan-out
// handler (filter, coalescing, snapshot) → the local dispatcher instead of SSM → agents on the
// local cells; plus the cells' watchers on their containers files (containers-watcher.ts, the
// systemd path unit on a real cell); plus AWS's two periodic jobs (periodic-jobs.ts): the scheduled republish, run by the
// very handler Lambda runs, and the full sync of every cell that State Manager runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { jsonLineLog, type Log } from '../../core/log.js';
import { shardedSnapshotStore } from '../../core/store/sharded-snapshot-store.js';
import { documentClient, type TableStores } from '../../core/store/table-stores.js';
import { createFanoutHandlers } from '../../lambdas/fanout/fanout-handlers.js';
import { noFanoutMetrics } from '../../lambdas/fanout/fanout-metrics.js';
import type { RepublishResult } from '../../lambdas/fanout/republish.js';
import { publishedStateOf } from '../../lambdas/fanout/snapshot-publisher.js';
import { isVersionRecord } from '../../lambdas/fanout/stream-filter.js';
import type { LocalCell } from '../cells/local-cells.js';
import { type AgentRunner, LocalDispatcher } from '../cells/local-dispatcher.js';
import { LOCAL_CLIENT_CONFIG } from '../dynamodb-local.js';
import { LOCAL_SERVICE } from '../local-service.js';
import { type ContainersWatcher, watchContainersFiles } from './containers-watcher.js';
import { LOCAL_SCHEDULE_DEFAULTS, scheduledEvent, startPeriodicJobs } from './periodic-jobs.js';
import { LocalStreamReader } from './stream-reader.js';

export interface LocalPropagationOptions {
  readonly dynamodb: DynamoDBClient;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  /** The policies to publish, and the cells' reports the republish checks. */
  readonly stores: TableStores;
  readonly cells: readonly LocalCell[];
  readonly runAgent: AgentRunner;
  /** Where batches that exhausted their retries are written (the on-failure queue). */
  readonly failedBatchesDir: string;
  /** The scheduled republish, as the EventBridge rule runs it. @default 5 minutes */
  readonly republishIntervalMs?: number;
  /** Full sync of every cell, as the State Manager association does. @default 30 minutes */
  readonly resyncIntervalMs?: number;
  /** Sync a cell as soon as its containers file changes, as the path unit does on a cell. @default true */
  readonly watchContainers?: boolean;
  /** @default JSON lines of local mode */
  readonly log?: Log;
}

export interface LocalPropagation {
  readonly dispatcher: LocalDispatcher;
  /** A write just landed: the stream reader polls now instead of at the end of its pause. */
  wake(): void;
  /** Runs the scheduled republish now: publishes a missing or stale snapshot, tells lagging cells. */
  republish(): Promise<RepublishResult>;
  /** Runs the periodic full sync now: every cell syncs, whatever its version. */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPropagation(options: LocalPropagationOptions): Promise<LocalPropagation> {
  const log = options.log ?? jsonLineLog({ service: LOCAL_SERVICE });
  const description = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = description.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${options.tableName} has no stream`);
  const dispatcher = new LocalDispatcher({ cells: options.cells, runAgent: options.runAgent, log });
  const resyncIntervalMs = options.resyncIntervalMs ?? LOCAL_SCHEDULE_DEFAULTS.resyncIntervalMs;
  const snapshots = shardedSnapshotStore(documentClient(options.dynamodb), options.tableName, { log });
  // Local mode is its table's only publisher (its pid file keeps a second `npm start` out): a lease
  // still held is a crashed run's, which would otherwise block this start's first publish for 90 s.
  await snapshots.expireAbandonedLease();
  const handlers = createFanoutHandlers({
    policies: publishedStateOf(options.stores),
    snapshots,
    cells: options.stores.cells,
    commander: dispatcher,
    // Two resync intervals, as the stack derives it from the association's schedule.
    liveCellWindowMs: 2 * resyncIntervalMs,
    log,
    metrics: noFanoutMetrics,
  });
  const streams = new DynamoDBStreamsClient({ ...LOCAL_CLIENT_CONFIG, endpoint: options.dynamodbEndpoint });
  const reader = new LocalStreamReader({
    client: streams,
    streamArn,
    handler: handlers.stream,
    filter: isVersionRecord,
    log,
    onFailure: async (records, reason) => {
      mkdirSync(options.failedBatchesDir, { recursive: true });
      const file = join(options.failedBatchesDir, `${Date.now()}.json`);
      writeFileSync(file, JSON.stringify({ reason, records }, null, 2));
      log.error('fan-out: a batch failed for good; kept in the failed-batches folder', {
        records: records.length,
        reason,
        file,
      });
    },
  });
  await reader.start();
  // Before the first sync, so that a change made while it runs is not missed.
  const watcher: ContainersWatcher | undefined =
    options.watchContainers === false
      ? undefined
      : watchContainersFiles({
          cells: options.cells,
          log,
          // MinVersion 0, as the path unit's service: whatever is current, for the new container list.
          onChange: (cell) => {
            log.debug('containers file changed: syncing the cell', { cell: cell.name });
            dispatcher.syncCell(cell.name, 0);
          },
        });

  const republish = (): Promise<RepublishResult> => handlers.republish(scheduledEvent(new Date()));
  // MinVersion 0 and a full verify, as the association runs the document: every cell syncs, whatever
  // it applied, and reads every rule and set member back (drift the record cannot see is repaired).
  const resync = (): Promise<void> => dispatcher.syncCells(0, undefined, 'full');
  // As in AWS after a deploy: the first scheduled run publishes a missing or stale snapshot, and a
  // new cell's first association run syncs it. So cells converge on start.
  try {
    await republish();
    await resync();
  } catch (error) {
    watcher?.stop();
    await reader.stop();
    streams.destroy();
    throw error;
  }
  const jobs = startPeriodicJobs({
    republish,
    resync,
    republishIntervalMs: options.republishIntervalMs ?? LOCAL_SCHEDULE_DEFAULTS.republishIntervalMs,
    resyncIntervalMs,
    log,
  });

  return {
    dispatcher,
    wake: () => reader.wake(),
    republish,
    resync,
    stop: async () => {
      watcher?.stop();
      jobs.stop();
      await reader.stop();
      await dispatcher.idle();
      streams.destroy();
    },
  };
}
