// Cells' sync reports in the policy table, one item each. A report only moves forward: an agent
// that finishes late with an older version does not overwrite a newer report.
//
//   pk    sk           item
//   CELL  <cell name>  { applied_version, applied_at, synced_at, containers, rules }
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CellRegistry, CellReport } from '../domain/cells.js';
import { queryPartition } from './dynamodb-io.js';
import { versionKey } from './items.js';
import { PARTITION_KEY, SORT_KEY } from './table-definition.js';

export const CELL_PK = 'CELL';

export class DynamoDbCellStatusStore implements CellRegistry {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Records a report; returns false when the cell had already reported a newer version. */
  async record(report: CellReport): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PARTITION_KEY]: CELL_PK, [SORT_KEY]: report.name },
          UpdateExpression:
            'SET applied_version = :v, applied_at = :at, synced_at = :synced, containers = :c, #rules = :r',
          ConditionExpression: 'attribute_not_exists(applied_version) OR applied_version <= :v',
          ExpressionAttributeNames: { '#rules': 'rules' },
          ExpressionAttributeValues: {
            ':v': report.appliedVersion,
            ':at': report.appliedAt,
            ':synced': report.syncedAt,
            ':c': report.containers,
            ':r': report.rules,
          },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async list(): Promise<CellReport[]> {
    const items = await queryPartition(this.client, this.tableName, CELL_PK);
    return items.map((item) => ({
      name: String(item[SORT_KEY]),
      appliedVersion: Number(item.applied_version),
      appliedAt: String(item.applied_at),
      // Reports written before synced_at existed: their last sync is the one that applied.
      syncedAt: String(item.synced_at ?? item.applied_at),
      containers: Number(item.containers ?? 0),
      rules: Number(item.rules ?? 0),
    }));
  }

  /** The latest policy version and when it was written. */
  async currentVersion(): Promise<{ version: number; writtenAt: string | undefined }> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: versionKey(), ConsistentRead: true }),
    );
    return {
      version: Number(result.Item?.version ?? 0),
      writtenAt: result.Item?.updated_at === undefined ? undefined : String(result.Item.updated_at),
    };
  }
}
