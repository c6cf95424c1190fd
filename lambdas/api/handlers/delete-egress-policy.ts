import { egressPolicyList } from '../../../core/domain/types.js';
import { storesFromEnvironment } from '../../shared/environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';

export const deleteEgressPolicy: Operation = async (request, { policies }) => {
  const deleted = await policies.deleteEgressPolicy(pathId(request, 'egress policy'));
  return { statusCode: 200, body: egressPolicyList([deleted]) };
};

export const handler = createApiHandler(deleteEgressPolicy, storesFromEnvironment);
