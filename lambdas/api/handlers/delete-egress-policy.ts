import { egressPolicyList } from '../../../core/domain/types.js';
import type { PolicyRouteStores } from '../../../core/store/policy-route-stores.js';
import { policyRouteStoresFromEnvironment } from '../../shared/policy-route-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';

export const deleteEgressPolicy: Operation<PolicyRouteStores> = async (request, { policies }) => {
  const deleted = await policies.deleteEgressPolicy(pathId(request, 'egress policy'));
  return { statusCode: 200, body: egressPolicyList([deleted]) };
};

export const handler = createApiHandler(deleteEgressPolicy, policyRouteStoresFromEnvironment);
