import { ValidationError } from '../../../core/domain/errors.js';
import { destinationList } from '../../../core/domain/types.js';
import type { PolicyRouteStores } from '../../../core/store/policy-route-stores.js';
import { policyRouteStoresFromEnvironment } from '../../shared/policy-route-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { commaList } from '../request-helpers.js';
import type { Operation } from '../types.js';

export const listDestinations: Operation<PolicyRouteStores> = async (request, { policies }) => {
  const ids = commaList(request, 'id');
  const names = commaList(request, 'name');
  if (ids && names) throw new ValidationError('id and name: filter by one of them, not both');
  const destinations = await policies.listDestinations({ ...(ids ? { ids } : {}), ...(names ? { names } : {}) });
  return { statusCode: 200, body: destinationList(destinations) };
};

export const handler = createApiHandler(listDestinations, policyRouteStoresFromEnvironment);
