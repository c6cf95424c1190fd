import { updateDestinationsBodySchema } from '../../../core/domain/schemas.js';
import { destinationList } from '../../../core/domain/types.js';
import { parseWith } from '../../../core/domain/validation.js';
import type { PolicyRouteStores } from '../../../core/store/policy-route-stores.js';
import { policyRouteStoresFromEnvironment } from '../../shared/policy-route-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const updateDestinations: Operation<PolicyRouteStores> = async (request, { policies }) => {
  const { destinations } = parseWith(updateDestinationsBodySchema, request.body);
  return { statusCode: 200, body: destinationList(await policies.updateDestinations(destinations)) };
};

export const handler = createApiHandler(updateDestinations, policyRouteStoresFromEnvironment);
