// The stores of the V3 routes: security groups and the jobs that report their deletes. Built apart
// from the policy stores so that a V3 route's bundle holds only these.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { JobStore } from '../domain/jobs.js';
import type { SecurityGroupStore } from '../domain/security-group.js';
import { documentClient } from './document-client.js';
import { DynamoDbJobStore } from './job-store.js';
import { DynamoDbSecurityGroupStore } from './security-group-store.js';

export interface SecurityGroupStores {
  readonly securityGroups: SecurityGroupStore;
  readonly jobs: JobStore;
}

export function securityGroupStoresFor(client: DynamoDBClient, tableName: string): SecurityGroupStores {
  const documents = documentClient(client);
  return {
    securityGroups: new DynamoDbSecurityGroupStore({ client: documents, tableName }),
    jobs: new DynamoDbJobStore(documents, tableName),
  };
}
