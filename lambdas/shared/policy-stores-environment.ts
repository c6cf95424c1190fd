// The v1 routes' stores on the table named by TABLE_NAME, once per container (their bundles hold
// only these).
import { type PolicyStores, policyStoresFor } from '../../core/store/policy-stores.js';
import { dynamoDbFromEnvironment, requiredEnv } from './environment.js';

let stores: PolicyStores | undefined;

export function policyStoresFromEnvironment(): PolicyStores {
  stores ??= policyStoresFor(dynamoDbFromEnvironment(), requiredEnv('TABLE_NAME'));
  return stores;
}
