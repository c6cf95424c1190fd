import { createDestinationsBodySchema } from '../../../core/domain/schemas.js';
import { destinationList } from '../../../core/domain/types.js';
import { parseWith } from '../../../core/domain/validation.js';
import type { PolicyStores } from '../../../core/store/policy-stores.js';
import { policyStoresFromEnvironment } from '../../shared/policy-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const createDestinations: Operation<PolicyStores> = async (request, { policies }) => {
  const { destinations } = parseWith(createDestinationsBodySchema, request.body);
  return { statusCode: 201, body: destinationList(await policies.createDestinations(destinations)) };
};

export const handler = createApiHandler(createDestinations, policyStoresFromEnvironment);
