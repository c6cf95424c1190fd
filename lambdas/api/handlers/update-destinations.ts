import { updateDestinationsBodySchema } from '../../../core/domain/schemas.js';
import { destinationList } from '../../../core/domain/types.js';
import { parseWith } from '../../../core/domain/validation.js';
import type { PolicyStores } from '../../../core/store/policy-stores.js';
import { policyStoresFromEnvironment } from '../../shared/policy-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const updateDestinations: Operation<PolicyStores> = async (request, { policies }) => {
  const { destinations } = parseWith(updateDestinationsBodySchema, request.body);
  return { statusCode: 200, body: destinationList(await policies.updateDestinations(destinations)) };
};

export const handler = createApiHandler(updateDestinations, policyStoresFromEnvironment);
