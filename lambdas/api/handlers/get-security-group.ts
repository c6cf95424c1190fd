import { storesFromEnvironment } from '../../shared/environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';
import { presentSecurityGroup } from '../v3/security-group-presenter.js';

export const getSecurityGroup: Operation = async (request, { securityGroups }) => {
  const group = await securityGroups.getSecurityGroup(pathId(request, 'Security group'));
  return { statusCode: 200, body: presentSecurityGroup(group, request.baseUrl) };
};

export const handler = createApiHandler(getSecurityGroup, storesFromEnvironment);
