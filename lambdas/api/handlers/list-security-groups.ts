import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { V3_PREFIX } from '../routes.js';
import type { Operation } from '../types.js';
import { paginate, paginationOf, throwIfAny } from '../v3/pagination.js';
import { securityGroupFilters } from '../v3/security-group-filters.js';
import { presentSecurityGroup } from '../v3/security-group-presenter.js';

export const listSecurityGroups: Operation<SecurityGroupStores> = async (request, { securityGroups }, settings) => {
  const problems: string[] = [];
  const pagination = paginationOf(request, problems);
  const filters = securityGroupFilters(request, settings.sourceIds, problems);
  throwIfAny(problems);
  const groups = (await securityGroups.listSecurityGroups()).filter((group) => filters.every((keep) => keep(group)));
  const { pagination: links, page } = paginate(groups, pagination, request, `${V3_PREFIX}/security_groups`);
  return {
    statusCode: 200,
    body: { pagination: links, resources: page.map((group) => presentSecurityGroup(group, request.baseUrl)) },
  };
};

export const handler = createApiHandler(listSecurityGroups, securityGroupStoresFromEnvironment);
