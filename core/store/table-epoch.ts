// The identity of a DynamoDB table, as the epoch of its snapshot versions (snapshot-store.ts).
// Versions count from the table's own counter, so they go back when the table is recreated or
// restored from a backup (a restore copies the items, pointer and counter included). Both make a
// new table: AWS gives it a new TableId. DynamoDB Local returns no TableId; its creation time, to
// the millisecond, tells a recreated table (an in-memory run, a deleted data folder) from the old one.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export async function tableEpoch(client: DynamoDBDocumentClient, tableName: string): Promise<string> {
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (table?.TableId) return table.TableId;
  if (table?.CreationDateTime) return `created-${table.CreationDateTime.toISOString()}`;
  throw new Error(`DescribeTable ${tableName}: neither TableId nor CreationDateTime in the answer`);
}
