import { ValidationError } from '../../../core/domain/errors.js';
import { SOURCE_TYPES } from '../../../core/domain/schemas.js';
import { type EgressPolicy, egressPolicyList } from '../../../core/domain/types.js';
import type { PolicyStores } from '../../../core/store/policy-stores.js';
import { policyStoresFromEnvironment } from '../../shared/policy-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { commaList } from '../request-helpers.js';
import type { Operation } from '../types.js';

/**
 * CF's last policy server read these filters (comma-separated; a policy matches one value of each
 * filter given). Source ids compare in lower case, as they are stored.
 */
export const listEgressPolicies: Operation<PolicyStores> = async (request, { policies }) => {
  const filters: ((policy: EgressPolicy) => boolean)[] = [];
  const sourceIds = commaList(request, 'SourceIDs');
  if (sourceIds) {
    const wanted = new Set(sourceIds.flatMap((id) => [id, id.toLowerCase()]));
    filters.push((policy) => wanted.has(policy.source.id));
  }
  const sourceTypes = commaList(request, 'SourceTypes');
  if (sourceTypes) {
    const unknown = sourceTypes.filter((type) => !SOURCE_TYPES.some((known) => known === type));
    if (unknown.length > 0) {
      throw new ValidationError(`SourceTypes: must be ${SOURCE_TYPES.join(' or ')}, got ${JSON.stringify(unknown[0])}`);
    }
    filters.push((policy) => sourceTypes.includes(policy.source.type));
  }
  const destinationIds = commaList(request, 'DestinationIDs');
  if (destinationIds) filters.push((policy) => destinationIds.includes(policy.destination.id));
  const destinationNames = commaList(request, 'DestinationNames');
  if (destinationNames) filters.push((policy) => destinationNames.includes(policy.destination.name));
  const listed = (await policies.listEgressPolicies()).filter((policy) => filters.every((keep) => keep(policy)));
  return { statusCode: 200, body: egressPolicyList(listed) };
};

export const handler = createApiHandler(listEgressPolicies, policyStoresFromEnvironment);
