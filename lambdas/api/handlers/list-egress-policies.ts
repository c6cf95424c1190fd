import { egressPolicyList } from '../../domain/types.js';
import { storeFromEnvironment } from '../../store/from-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';

export const listEgressPolicies: Operation = async (_request, store) => ({
  statusCode: 200,
  body: egressPolicyList(await store.listEgressPolicies()),
});

export const handler = createApiHandler(listEgressPolicies, storeFromEnvironment);
