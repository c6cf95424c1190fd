import { NotBoundError } from '../../../core/domain/errors.js';
import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import type { Operation } from '../types.js';
import { relationshipOf } from '../v3/relationships.js';
import { pathTargetGuid } from '../v3/security-group-body.js';

export const unbindSecurityGroup: Operation<SecurityGroupStores> = async (request, { securityGroups }, settings) => {
  const guid = pathId(request, 'Security group');
  const { lifecycle, target } = relationshipOf(request.pathParameters.relationship);
  const raw = request.pathParameters.target ?? '';
  const targetGuid = pathTargetGuid(raw, settings.sourceIds);
  // A guid no bind could have stored is not bound: CF's 422, without a store call.
  if (targetGuid === undefined) {
    throw new NotBoundError(
      `Unable to unbind security group from ${target} with guid '${raw.slice(0, 140)}'. Ensure the ${target} is bound to this security group.`,
      raw,
    );
  }
  await securityGroups.unbind(guid, lifecycle, target, targetGuid);
  return { statusCode: 204, body: undefined };
};

export const handler = createApiHandler(unbindSecurityGroup, securityGroupStoresFromEnvironment);
