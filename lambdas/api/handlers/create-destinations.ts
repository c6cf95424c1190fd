import { createDestinationsBodySchema } from '../../../core/domain/schemas.js';
import { destinationList } from '../../../core/domain/types.js';
import { parseWith } from '../../../core/domain/validation.js';
import type { PolicyRouteStores } from '../../../core/store/policy-route-stores.js';
import { policyRouteStoresFromEnvironment } from '../../shared/policy-route-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const createDestinations: Operation<PolicyRouteStores> = async (request, { policies }) => {
  const { destinations } = parseWith(createDestinationsBodySchema, request.body);
  return { statusCode: 201, body: destinationList(await policies.createDestinations(destinations)) };
};

export const handler = createApiHandler(createDestinations, policyRouteStoresFromEnvironment);
