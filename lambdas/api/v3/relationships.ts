// The relationship names of a security group's bindings in V3 paths: CF's two for spaces, and our
// extension for every space of an organisation.
import type { BindingTarget, Lifecycle } from '../../../core/domain/security-group.js';
import { HttpError } from '../http-errors.js';

const RELATIONSHIPS: Readonly<Record<string, { lifecycle: Lifecycle; target: BindingTarget }>> = {
  running_spaces: { lifecycle: 'running', target: 'space' },
  staging_spaces: { lifecycle: 'staging', target: 'space' },
  running_organizations: { lifecycle: 'running', target: 'organization' },
  staging_organizations: { lifecycle: 'staging', target: 'organization' },
};

/** The binding a `{relationship}` path segment names; 404 for any other segment, as for an unknown route. */
export function relationshipOf(segment: string | undefined): { lifecycle: Lifecycle; target: BindingTarget } {
  const found = segment === undefined ? undefined : RELATIONSHIPS[segment];
  if (!found || !Object.hasOwn(RELATIONSHIPS, segment ?? '')) throw new HttpError(404, 'Unknown request');
  return found;
}
