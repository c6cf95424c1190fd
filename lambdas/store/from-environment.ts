// The store a Lambda uses: the table named by TABLE_NAME, one client per container, built on first
// use so that importing a handler (tests, local mode) needs no environment.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApiDependencies } from '../api/types.js';
import { DynamoDbCellStatusStore } from './cell-status-store.js';
import { DynamoDbPolicyStore } from './dynamodb-policy-store.js';

let dependencies: ApiDependencies | undefined;

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The stores on one table; local mode and the Lambda handlers build them the same way. */
export function dependenciesFor(client: DynamoDBClient, tableName: string): ApiDependencies {
  const documents = documentClient(client);
  return {
    policies: new DynamoDbPolicyStore({ client: documents, tableName }),
    cells: new DynamoDbCellStatusStore(documents, tableName),
  };
}

export function dependenciesFromEnvironment(): ApiDependencies {
  if (!dependencies) {
    const tableName = process.env.TABLE_NAME;
    if (!tableName) throw new Error('TABLE_NAME is not set');
    dependencies = dependenciesFor(new DynamoDBClient({}), tableName);
  }
  return dependencies;
}
