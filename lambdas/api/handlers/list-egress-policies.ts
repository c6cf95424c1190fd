import { ValidationError } from '../../../core/domain/errors.js';
import { SOURCE_TYPES, type SourceType } from '../../../core/domain/schemas.js';
import type { EgressPolicyFilter } from '../../../core/domain/store.js';
import { egressPolicyList } from '../../../core/domain/types.js';
import type { PolicyRouteStores } from '../../../core/store/policy-route-stores.js';
import { policyRouteStoresFromEnvironment } from '../../shared/policy-route-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { commaList } from '../request-helpers.js';
import type { Operation } from '../types.js';

/**
 * CF's last policy server read these filters (comma-separated; a policy matches one value of each
 * filter given). Source ids compare in lower case, as they are stored. The store reads only the
 * destinations of the policies it returns.
 */
export const listEgressPolicies: Operation<PolicyRouteStores> = async (request, { policies }) => {
  const sourceTypes = commaList(request, 'SourceTypes');
  const unknown = sourceTypes?.filter((type) => !isSourceType(type)) ?? [];
  if (unknown.length > 0) {
    throw new ValidationError(`SourceTypes: must be ${SOURCE_TYPES.join(' or ')}, got ${JSON.stringify(unknown[0])}`);
  }
  const sourceIds = commaList(request, 'SourceIDs');
  const destinationIds = commaList(request, 'DestinationIDs');
  const destinationNames = commaList(request, 'DestinationNames');
  const filter: EgressPolicyFilter = {
    ...(sourceIds === undefined ? {} : { sourceIds }),
    ...(sourceTypes === undefined ? {} : { sourceTypes: sourceTypes.filter(isSourceType) }),
    ...(destinationIds === undefined ? {} : { destinationIds }),
    ...(destinationNames === undefined ? {} : { destinationNames }),
  };
  return { statusCode: 200, body: egressPolicyList(await policies.findEgressPolicies(filter)) };
};

const isSourceType = (value: string): value is SourceType => SOURCE_TYPES.some((known) => known === value);

export const handler = createApiHandler(listEgressPolicies, policyRouteStoresFromEnvironment);
