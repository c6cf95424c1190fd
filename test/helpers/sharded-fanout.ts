// The fan-out's dependencies on DynamoDB Local with source shards and SSM mocked (the caller mocks
// SSMClient): the real policy, cell and snapshot stores, the real commander. Overrides set the clock,
// the windows, the log and the metrics.
import { SSMClient } from '@aws-sdk/client-ssm';
import { jsonLineLog } from '../../core/log.js';
import { DynamoDbCellStatusStore } from '../../core/store/cell-status-store.js';
import { DynamoDbPolicyStore } from '../../core/store/dynamodb-policy-store.js';
import { shardedSnapshotStore } from '../../core/store/sharded-snapshot-store.js';
import { documentClient } from '../../core/store/table-stores.js';
import type { FanoutRun } from '../../lambdas/fanout/fanout-metrics.js';
import { SsmCommander } from '../../lambdas/fanout/ssm-commander.js';
import { createTestTable } from './ddb.js';
import { publishedState } from './published-state.js';

export interface ShardedFanoutOverrides {
  readonly liveCellWindowMs?: number;
  readonly commandGraceMs?: number;
  readonly now?: () => Date;
  readonly metrics?: { record: (run: FanoutRun) => void; commandFailed: () => void };
}

export async function shardedFanout(overrides: ShardedFanoutOverrides = {}) {
  const table = await createTestTable();
  const documents = documentClient(table.client);
  const policies = new DynamoDbPolicyStore({ client: documents, tableName: table.tableName });
  const cells = new DynamoDbCellStatusStore(documents, table.tableName);
  const deps = {
    policies: publishedState(policies, documents, table.tableName),
    snapshots: shardedSnapshotStore(documents, table.tableName),
    commander: new SsmCommander({
      client: new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      documentName: 'egress-sync',
      tagKey: 'egress:cell',
      tagValue: 'true',
      sleep: async () => undefined,
    }),
    cells,
    liveCellWindowMs: 3_600_000,
    log: jsonLineLog({ service: 'test', write: () => undefined }),
    metrics: { record: () => undefined, commandFailed: () => undefined },
    ...overrides,
  };
  return { table, policies, cells, deps };
}

/** A cell's report as its agent records it: one container, one rule, the sources it hosts if given. */
export function reportCell(
  cells: DynamoDbCellStatusStore,
  name: string,
  appliedVersion: number,
  syncedAt: string,
  sources?: string[],
): Promise<boolean> {
  return cells.record({
    name,
    appliedVersion,
    appliedAt: syncedAt,
    syncedAt,
    containers: 1,
    rules: 1,
    ...(sources === undefined ? {} : { sources }),
  });
}
