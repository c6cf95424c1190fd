// GET /explain's stores on the table named by TABLE_NAME, once per container: the policy store and
// the security group store, nothing else (its bundle holds only these).

import type { SecurityGroupStore } from '../../core/domain/security-group.js';
import type { PolicyStore } from '../../core/domain/store.js';
import { documentClient } from '../../core/store/document-client.js';
import { DynamoDbPolicyStore } from '../../core/store/dynamodb-policy-store.js';
import { DynamoDbSecurityGroupStore } from '../../core/store/security-group-store.js';
import { dynamoDbFromEnvironment, requiredEnv } from './environment.js';

export interface ExplainStores {
  readonly policies: PolicyStore;
  readonly securityGroups: SecurityGroupStore;
}

let stores: ExplainStores | undefined;

export function explainStoresFromEnvironment(): ExplainStores {
  if (stores === undefined) {
    const client = documentClient(dynamoDbFromEnvironment());
    const tableName = requiredEnv('TABLE_NAME');
    stores = {
      policies: new DynamoDbPolicyStore({ client, tableName }),
      securityGroups: new DynamoDbSecurityGroupStore({ client, tableName }),
    };
  }
  return stores;
}
