import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { pathId } from '../request-helpers.js';
import { V3_PREFIX } from '../routes.js';
import type { Operation } from '../types.js';
import type { JobResource } from '../v3/security-group-schemas.js';

export const getJob: Operation<SecurityGroupStores> = async (request, { jobs }) => {
  const job = await jobs.getJob(pathId(request, 'Job'));
  const body: JobResource = {
    guid: job.guid,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    operation: job.operation,
    state: job.state,
    errors: [],
    warnings: [],
    links: { self: { href: `${request.baseUrl}${V3_PREFIX}/jobs/${job.guid}` } },
  };
  return { statusCode: 200, body };
};

export const handler = createApiHandler(getJob, securityGroupStoresFromEnvironment);
