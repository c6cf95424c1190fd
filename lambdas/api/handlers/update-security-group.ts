import { storesFromEnvironment } from '../../shared/environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';
import { decodeUpdateBody } from '../v3/security-group-body.js';
import { presentSecurityGroup } from '../v3/security-group-presenter.js';

export const updateSecurityGroup: Operation = async (request, { securityGroups }) => {
  const guid = pathId(request, 'Security group');
  const group = await securityGroups.updateSecurityGroup(guid, decodeUpdateBody(request.body));
  return { statusCode: 200, body: presentSecurityGroup(group, request.baseUrl) };
};

export const handler = createApiHandler(updateSecurityGroup, storesFromEnvironment);
