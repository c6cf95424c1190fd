import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';
import { relationshipOf } from '../v3/relationships.js';
import { decodeRelationshipBody } from '../v3/security-group-body.js';
import { presentRelationship } from '../v3/security-group-presenter.js';

export const bindSecurityGroup: Operation<SecurityGroupStores> = async (request, { securityGroups }, settings) => {
  const guid = pathId(request, 'Security group');
  const relationship = request.pathParameters.relationship ?? '';
  const { lifecycle, target } = relationshipOf(relationship);
  const guids = decodeRelationshipBody(request.body, settings.sourceIds);
  const group = await securityGroups.bind(guid, lifecycle, target, guids);
  return {
    statusCode: 200,
    body: presentRelationship(group, relationship, group.bindings[lifecycle][target], request.baseUrl),
  };
};

export const handler = createApiHandler(bindSecurityGroup, securityGroupStoresFromEnvironment);
