// A fresh table per test file in the run's shared DynamoDB Local.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject, vi } from 'vitest';
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

/** What an agent process or the agent CLI reads its table from: this test table, as on a cell. */
export function stubAgentTableEnv(table: TestTable): void {
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', table.endpoint);
  vi.stubEnv('AWS_REGION', LOCAL_CLIENT_CONFIG.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', LOCAL_CLIENT_CONFIG.credentials.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CLIENT_CONFIG.credentials.secretAccessKey);
}
