import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';
import { presentSecurityGroup } from '../v3/security-group-presenter.js';

export const getSecurityGroup: Operation<SecurityGroupStores> = async (request, { securityGroups }) => {
  const group = await securityGroups.getSecurityGroup(pathId(request, 'Security group'));
  return { statusCode: 200, body: presentSecurityGroup(group, request.baseUrl) };
};

export const handler = createApiHandler(getSecurityGroup, securityGroupStoresFromEnvironment);
