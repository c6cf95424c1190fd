// A fresh table per test file in the run's shared DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { ensureTable, LOCAL_CLIENT_CONFIG } from '../../local/dynamodb-local.js';

export interface TestTable {
  readonly endpoint: string;
  readonly tableName: string;
  readonly client: DynamoDBClient;
}

export async function createTestTable(): Promise<TestTable> {
  const endpoint = inject('ddbEndpoint');
  const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint });
  const tableName = `test-${randomUUID()}`;
  await ensureTable(client, tableName);
  return { endpoint, tableName, client };
}
