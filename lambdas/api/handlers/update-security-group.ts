import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';
import { decodeUpdateBody } from '../v3/security-group-body.js';
import { presentSecurityGroup } from '../v3/security-group-presenter.js';

export const updateSecurityGroup: Operation<SecurityGroupStores> = async (request, { securityGroups }) => {
  const guid = pathId(request, 'Security group');
  const group = await securityGroups.updateSecurityGroup(guid, decodeUpdateBody(request.body));
  return { statusCode: 200, body: presentSecurityGroup(group, request.baseUrl) };
};

export const handler = createApiHandler(updateSecurityGroup, securityGroupStoresFromEnvironment);
