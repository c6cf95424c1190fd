// A security group as Cloud Controller's V3 presenter shows it, plus our extension: the bound
// organisations, beside CF's two space relationships.
import type { Lifecycle, SecurityGroup } from '../../../core/domain/security-group.js';
import { V3_PREFIX } from '../routes.js';
import type { RelationshipResource, SecurityGroupResource } from './security-group-schemas.js';

const related = (guids: readonly string[]) => ({ data: guids.map((guid) => ({ guid })) });

export const securityGroupPath = (guid: string): string => `${V3_PREFIX}/security_groups/${guid}`;

/**
 * @param onlySpace as CF's space lists do, show only that space among the bound ones (and no
 *   organisations: which organisation a space belongs to is Cloud Controller's to know, not ours).
 */
export function presentSecurityGroup(group: SecurityGroup, baseUrl: string, onlySpace?: string): SecurityGroupResource {
  const spaces = (lifecycle: Lifecycle) => {
    const bound = group.bindings[lifecycle].space;
    return related(onlySpace === undefined ? bound : bound.filter((guid) => guid === onlySpace));
  };
  const organizations = (lifecycle: Lifecycle) =>
    related(onlySpace === undefined ? group.bindings[lifecycle].organization : []);
  return {
    guid: group.guid,
    created_at: group.createdAt,
    updated_at: group.updatedAt,
    name: group.name,
    rules: [...group.rules],
    globally_enabled: { running: group.globallyEnabled.running, staging: group.globallyEnabled.staging },
    relationships: {
      running_spaces: spaces('running'),
      staging_spaces: spaces('staging'),
      running_organizations: organizations('running'),
      staging_organizations: organizations('staging'),
    },
    links: { self: { href: `${baseUrl}${securityGroupPath(group.guid)}` } },
  };
}

/** The answer to a bind: the relationship after it, as CF's ToManyRelationshipPresenter shows it. */
export function presentRelationship(
  group: SecurityGroup,
  relationship: string,
  guids: readonly string[],
  baseUrl: string,
): RelationshipResource {
  return {
    ...related(guids),
    links: { self: { href: `${baseUrl}${securityGroupPath(group.guid)}/relationships/${relationship}` } },
  };
}
