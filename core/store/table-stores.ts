// Every store on the table, built the same way by the fan-out and local mode. API routes build only
// their family's (policy-stores.ts, security-group-stores.ts): a route's bundle holds what it uses.
// The snapshot store is built on its own by those that publish or read snapshots.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type PolicyStores, policyStoresFor } from './policy-stores.js';
import { type SecurityGroupStores, securityGroupStoresFor } from './security-group-stores.js';

export { documentClient } from './document-client.js';

export type TableStores = PolicyStores & SecurityGroupStores;

export function storesFor(client: DynamoDBClient, tableName: string): TableStores {
  return { ...policyStoresFor(client, tableName), ...securityGroupStoresFor(client, tableName) };
}
