import { completedJob } from '../../../core/domain/jobs.js';
import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import { V3_PREFIX } from '../routes.js';
import type { Operation } from '../types.js';

/** CF answers 202 with a job to poll; ours has finished by the time it is answered. */
export const deleteSecurityGroup: Operation<SecurityGroupStores> = async (request, { securityGroups }) => {
  const job = completedJob('security_group.delete');
  await securityGroups.deleteSecurityGroup(pathId(request, 'Security group'), job);
  return { statusCode: 202, headers: { location: `${request.baseUrl}${V3_PREFIX}/jobs/${job.guid}` }, body: undefined };
};

export const handler = createApiHandler(deleteSecurityGroup, securityGroupStoresFromEnvironment);
