import { destinationList } from '../../../core/domain/types.js';
import type { PolicyStores } from '../../../core/store/policy-stores.js';
import { policyStoresFromEnvironment } from '../../shared/policy-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';

export const deleteDestination: Operation<PolicyStores> = async (request, { policies }) => {
  const deleted = await policies.deleteDestination(pathId(request, 'destination'));
  return { statusCode: 200, body: destinationList([deleted]) };
};

export const handler = createApiHandler(deleteDestination, policyStoresFromEnvironment);
