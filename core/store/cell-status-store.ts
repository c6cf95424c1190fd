// Cells' sync reports in the policy table, one item each. A report only moves forward: an agent
// that finishes late with an older version does not overwrite a newer report.
//
//   pk    sk           item
//   CELL  <cell name>  { applied_version, applied_at, synced_at, containers, rules, sources }
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CellRegistry, CellReport, ChangeLog } from '../domain/cells.js';
import { errorName, queryPartition } from './dynamodb-io.js';
import { decodeCellReport, decodeSnapshotPointer, decodeVersionRecord } from './item-schemas.js';
import { snapshotPointerKey, versionKey } from './items.js';
import { readShardChanges } from './shard-log.js';
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
          UpdateExpression: `SET applied_version = :v, applied_at = :at, synced_at = :synced, containers = :c, #rules = :r${
            report.sources === undefined ? '' : ', #sources = :s'
          }`,
          ConditionExpression: 'attribute_not_exists(applied_version) OR applied_version <= :v',
          ExpressionAttributeNames: {
            '#rules': 'rules',
            ...(report.sources === undefined ? {} : { '#sources': 'sources' }),
          },
          ExpressionAttributeValues: {
            ':v': report.appliedVersion,
            ':at': report.appliedAt,
            ':synced': report.syncedAt,
            ':c': report.containers,
            ':r': report.rules,
            ...(report.sources === undefined ? {} : { ':s': [...report.sources] }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async list(): Promise<CellReport[]> {
    return (await queryPartition(this.client, this.tableName, CELL_PK)).map(decodeCellReport);
  }

  /** The snapshot pointer's change log (source shards), or undefined when it has none. */
  async changeLog(): Promise<ChangeLog | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: snapshotPointerKey(),
        ConsistentRead: true,
      }),
    );
    const pointer = result.Item === undefined ? undefined : decodeSnapshotPointer(result.Item);
    if (pointer?.shardLog === undefined) return undefined;
    const entries = await readShardChanges(this.client, this.tableName, pointer.shardLog);
    return { version: pointer.version, versions: pointer.shardLog, entries };
  }

  /** The latest policy version and when it was written. */
  async currentVersion(): Promise<{ version: number; writtenAt: string | undefined }> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: versionKey(), ConsistentRead: true }),
    );
    const { version, updatedAt } = decodeVersionRecord(result.Item);
    return { version, writtenAt: updatedAt };
  }
}
