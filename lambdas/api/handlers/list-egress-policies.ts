import { egressPolicyList } from '../../../core/domain/types.js';
import { storesFromEnvironment } from '../../shared/environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const listEgressPolicies: Operation = async (_request, { policies }) => ({
  statusCode: 200,
  body: egressPolicyList(await policies.listEgressPolicies()),
});

export const handler = createApiHandler(listEgressPolicies, storesFromEnvironment);
