// The store of the destination and policy routes: the policy store alone, so that their bundles do
// not carry the cells' status store (only GET /cells reads it; policy-stores.ts).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PolicyStore } from '../domain/store.js';
import { documentClient } from './document-client.js';
import { DynamoDbPolicyStore } from './dynamodb-policy-store.js';

export interface PolicyRouteStores {
  readonly policies: PolicyStore;
}

export function policyRouteStoresFor(client: DynamoDBClient, tableName: string): PolicyRouteStores {
  return { policies: new DynamoDbPolicyStore({ client: documentClient(client), tableName }) };
}
