import { createEgressPoliciesBodySchemas } from '../../../core/domain/schemas.js';
import { egressPolicyList } from '../../../core/domain/types.js';
import { parseWith } from '../../../core/domain/validation.js';
import type { PolicyRouteStores } from '../../../core/store/policy-route-stores.js';
import { policyRouteStoresFromEnvironment } from '../../shared/policy-route-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

/**
 * 201 when anything was created; 200 when every policy already existed (an idempotent repeat).
 * Source ids must be GUIDs unless the deployment accepts any identifier (settings.sourceIds).
 */
export const createEgressPolicies: Operation<PolicyRouteStores> = async (request, deps, settings) => {
  const { egress_policies } = parseWith(createEgressPoliciesBodySchemas[settings.sourceIds], request.body);
  const { policies, created } = await deps.policies.createEgressPolicies(egress_policies);
  return { statusCode: created > 0 ? 201 : 200, body: egressPolicyList(policies) };
};

export const handler = createApiHandler(createEgressPolicies, policyRouteStoresFromEnvironment);
