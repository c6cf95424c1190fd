import { destinationList } from '../../../core/domain/types.js';
import type { PolicyRouteStores } from '../../../core/store/policy-route-stores.js';
import { policyRouteStoresFromEnvironment } from '../../shared/policy-route-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';

export const deleteDestination: Operation<PolicyRouteStores> = async (request, { policies }) => {
  const deleted = await policies.deleteDestination(pathId(request, 'destination'));
  return { statusCode: 200, body: destinationList([deleted]) };
};

export const handler = createApiHandler(deleteDestination, policyRouteStoresFromEnvironment);
