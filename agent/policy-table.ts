// The policy table as a cell's agent sees it: snapshots to read, and its own report to write;
// nothing else. The bundled agent and local mode's in-process cells both start from here.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CellRegistry } from '../core/domain/cells.js';
import { DynamoDbCellStatusStore } from '../core/store/cell-status-store.js';
import { shardedSnapshotStore } from '../core/store/sharded-snapshot-store.js';
import type { SnapshotSource } from './source/dynamodb.js';

export interface AgentTable {
  readonly snapshots: SnapshotSource;
  readonly registry: Pick<CellRegistry, 'record'>;
}

export function agentTable(documents: DynamoDBDocumentClient, tableName: string): AgentTable {
  return {
    snapshots: shardedSnapshotStore(documents, tableName),
    registry: new DynamoDbCellStatusStore(documents, tableName),
  };
}
