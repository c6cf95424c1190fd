// The store a Lambda uses: the table named by TABLE_NAME, one client per container, built on first
// use so that importing a handler (tests, local mode) needs no environment.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PolicyStore } from '../domain/store.js';
import { DynamoDbPolicyStore } from './dynamodb-policy-store.js';

let store: PolicyStore | undefined;

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function storeFromEnvironment(): PolicyStore {
  if (!store) {
    const tableName = process.env.TABLE_NAME;
    if (!tableName) throw new Error('TABLE_NAME is not set');
    store = new DynamoDbPolicyStore({ client: documentClient(new DynamoDBClient({})), tableName });
  }
  return store;
}
