// The stores every API route uses, built the same way by the Lambdas and local mode. The snapshot
// store is built on its own by those that publish or read snapshots: the API routes never do, and
// leaving it out keeps their bundles small.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CellRegistry } from '../domain/cells.js';
import type { JobStore } from '../domain/jobs.js';
import type { SecurityGroupStore } from '../domain/security-group.js';
import type { PolicyStore } from '../domain/store.js';
import { DynamoDbCellStatusStore } from './cell-status-store.js';
import { DynamoDbPolicyStore } from './dynamodb-policy-store.js';
import { DynamoDbJobStore } from './job-store.js';
import { DynamoDbSecurityGroupStore } from './security-group-store.js';

export interface TableStores {
  readonly policies: PolicyStore;
  readonly securityGroups: SecurityGroupStore;
  readonly cells: CellRegistry;
  readonly jobs: JobStore;
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function storesFor(client: DynamoDBClient, tableName: string): TableStores {
  const documents = documentClient(client);
  return {
    policies: new DynamoDbPolicyStore({ client: documents, tableName }),
    securityGroups: new DynamoDbSecurityGroupStore({ client: documents, tableName }),
    cells: new DynamoDbCellStatusStore(documents, tableName),
    jobs: new DynamoDbJobStore(documents, tableName),
  };
}
