// The destination and policy routes' store on the table named by TABLE_NAME, once per container.
import { type PolicyRouteStores, policyRouteStoresFor } from '../../core/store/policy-route-stores.js';
import { dynamoDbFromEnvironment, requiredEnv } from './environment.js';

let stores: PolicyRouteStores | undefined;

export function policyRouteStoresFromEnvironment(): PolicyRouteStores {
  stores ??= policyRouteStoresFor(dynamoDbFromEnvironment(), requiredEnv('TABLE_NAME'));
  return stores;
}
