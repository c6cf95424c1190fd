// The V3 routes' stores on the table named by TABLE_NAME, once per container (their bundles hold
// only these).
import { type SecurityGroupStores, securityGroupStoresFor } from '../../core/store/security-group-stores.js';
import { dynamoDbFromEnvironment, requiredEnv } from './environment.js';

let stores: SecurityGroupStores | undefined;

export function securityGroupStoresFromEnvironment(): SecurityGroupStores {
  stores ??= securityGroupStoresFor(dynamoDbFromEnvironment(), requiredEnv('TABLE_NAME'));
  return stores;
}
