import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import type { Operation } from '../types.js';
import { decodeCreateBody } from '../v3/security-group-body.js';
import { presentSecurityGroup } from '../v3/security-group-presenter.js';

export const createSecurityGroup: Operation<SecurityGroupStores> = async (request, { securityGroups }, settings) => {
  const input = decodeCreateBody(request.body, settings.sourceIds);
  const group = await securityGroups.createSecurityGroup(input);
  return { statusCode: 201, body: presentSecurityGroup(group, request.baseUrl) };
};

export const handler = createApiHandler(createSecurityGroup, securityGroupStoresFromEnvironment);
