// Local mode's propagation loop, the same one AWS runs: DynamoDB Local's stream → the fan-out
// handler (filter, coalescing, snapshot) → the local dispatcher instead of SSM → agents on the
// local cells; plus the periodic full sync that State Manager runs in AWS.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { PolicyStore } from '../../core/domain/store.js';
import { DynamoDbSnapshotStore } from '../../core/store/snapshot-store.js';
import { documentClient } from '../../core/store/table-stores.js';
import { createFanoutHandler } from '../../lambdas/fanout/fanout.js';
import { publishSnapshot } from '../../lambdas/fanout/snapshot-publisher.js';
import { isVersionRecord } from '../../lambdas/fanout/stream-filter.js';
import type { LocalCell } from '../cells/local-cells.js';
import { type AgentRunner, LocalDispatcher } from '../cells/local-dispatcher.js';
import { LOCAL_CLIENT_CONFIG } from '../dynamodb-local.js';
import { LocalStreamReader } from './stream-reader.js';

export interface LocalPropagationOptions {
  readonly dynamodb: DynamoDBClient;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  readonly policies: PolicyStore;
  readonly cells: readonly LocalCell[];
  readonly runAgent: AgentRunner;
  /** Where batches that exhausted their retries are written (the on-failure queue). */
  readonly failedBatchesDir: string;
  /** Full sync of every cell, as the State Manager association does. @default 30 minutes */
  readonly resyncIntervalMs?: number;
  readonly log?: (line: string) => void;
}

export interface LocalPropagation {
  readonly dispatcher: LocalDispatcher;
  /** Runs the periodic full sync now. */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPropagation(options: LocalPropagationOptions): Promise<LocalPropagation> {
  const log = options.log ?? ((line: string) => console.log(line));
  const description = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = description.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${options.tableName} has no stream`);
  const snapshots = new DynamoDbSnapshotStore(documentClient(options.dynamodb), options.tableName);
  const dispatcher = new LocalDispatcher({ cells: options.cells, runAgent: options.runAgent, log });
  const handler = createFanoutHandler({
    policies: options.policies,
    snapshots,
    commander: dispatcher,
    log: (entry) => {
      if (entry.level === 'ERROR') log(`fan-out: ${String(entry.message)}: ${String(entry.error)}`);
    },
  });
  const streams = new DynamoDBStreamsClient({ ...LOCAL_CLIENT_CONFIG, endpoint: options.dynamodbEndpoint });
  const reader = new LocalStreamReader({
    client: streams,
    streamArn,
    handler,
    filter: isVersionRecord,
    onFailure: async (records, reason) => {
      mkdirSync(options.failedBatchesDir, { recursive: true });
      const file = join(options.failedBatchesDir, `${Date.now()}.json`);
      writeFileSync(file, JSON.stringify({ reason, records }, null, 2));
      log(`fan-out: a batch of ${records.length} record(s) failed for good (${reason}); kept in ${file}`);
    },
  });
  await reader.start();

  const resync = async (): Promise<void> => {
    const { version } = await publishSnapshot(options.policies, snapshots);
    await dispatcher.syncCells(version);
  };
  // Cells converge on start, as a new cell does on its first association run.
  await resync();
  const timer = setInterval(
    () => {
      resync().catch((error: unknown) => log(`periodic sync failed: ${String(error)}`));
    },
    options.resyncIntervalMs ?? 30 * 60_000,
  );
  timer.unref();

  return {
    dispatcher,
    resync,
    stop: async () => {
      clearInterval(timer);
      await reader.stop();
      await dispatcher.idle();
      streams.destroy();
    },
  };
}
