import type { Lifecycle } from '../../../core/domain/security-group.js';
import type { SecurityGroupStores } from '../../../core/store/security-group-stores.js';
import { securityGroupStoresFromEnvironment } from '../../shared/security-group-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { HttpError } from '../http-errors.js';
import { V3_PREFIX } from '../routes.js';
import type { Operation } from '../types.js';
import { paginate, paginationOf, throwIfAny } from '../v3/pagination.js';
import { pathTargetGuid } from '../v3/security-group-body.js';
import { securityGroupFilters } from '../v3/security-group-filters.js';
import { presentSecurityGroup } from '../v3/security-group-presenter.js';

const LISTS: Readonly<Record<string, Lifecycle>> = {
  running_security_groups: 'running',
  staging_security_groups: 'staging',
};

/**
 * The groups that apply to a space's running or staging workloads: bound to it, or globally
 * enabled. Groups bound to its organisation apply on the cells too, but the API cannot list them:
 * which organisation a space belongs to is Cloud Controller's to know.
 */
export const listSpaceSecurityGroups: Operation<SecurityGroupStores> = async (
  request,
  { securityGroups },
  settings,
) => {
  const list = request.pathParameters.list ?? '';
  const lifecycle = Object.hasOwn(LISTS, list) ? LISTS[list] : undefined;
  if (lifecycle === undefined) throw new HttpError(404, 'Unknown request');
  const space = pathTargetGuid(request.pathParameters.id, settings.sourceIds);
  if (space === undefined) throw new HttpError(404, 'Space not found');
  const problems: string[] = [];
  const pagination = paginationOf(request, problems);
  const filters = securityGroupFilters(request, settings.sourceIds, problems);
  throwIfAny(problems);
  const groups = (await securityGroups.listSecurityGroups()).filter(
    (group) =>
      (group.globallyEnabled[lifecycle] || group.bindings[lifecycle].space.includes(space)) &&
      filters.every((keep) => keep(group)),
  );
  const path = `${V3_PREFIX}/spaces/${space}/${list}`;
  const { pagination: links, page } = paginate(groups, pagination, request, path);
  return {
    statusCode: 200,
    body: { pagination: links, resources: page.map((group) => presentSecurityGroup(group, request.baseUrl, space)) },
  };
};

export const handler = createApiHandler(listSpaceSecurityGroups, securityGroupStoresFromEnvironment);
