import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import { V3_PREFIX } from '../routes.js';
import type { Operation } from '../types.js';

export const getJob: Operation<SecurityGroupStores> = async (request, { jobs }) => {
  const job = await jobs.getJob(pathId(request, 'Job'));
  return {
    statusCode: 200,
    body: {
      guid: job.guid,
      created_at: job.createdAt,
      updated_at: job.updatedAt,
      operation: job.operation,
      state: job.state,
      errors: [],
      warnings: [],
      links: { self: { href: `${request.baseUrl}${V3_PREFIX}/jobs/${job.guid}` } },
    },
  };
};

export const handler = createApiHandler(getJob, securityGroupStoresFromEnvironment);
