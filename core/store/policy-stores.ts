// The stores of the v1 routes: egress policies and destinations, and the cells' reports. Built apart
// from the security group stores so that a v1 route's bundle holds only these (and the destination
// and policy routes only the policy store: policy-route-stores.ts).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CellRegistry } from '../domain/cells.js';
import { DynamoDbCellStatusStore } from './cell-status-store.js';
import { documentClient } from './document-client.js';
import { DynamoDbPolicyStore } from './dynamodb-policy-store.js';
import type { PolicyRouteStores } from './policy-route-stores.js';

export interface PolicyStores extends PolicyRouteStores {
  readonly cells: CellRegistry;
}

export function policyStoresFor(client: DynamoDBClient, tableName: string): PolicyStores {
  const documents = documentClient(client);
  return {
    policies: new DynamoDbPolicyStore({ client: documents, tableName }),
    cells: new DynamoDbCellStatusStore(documents, tableName),
  };
}
