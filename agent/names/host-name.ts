// Host names the agent resolves: the domain's names (core/domain/host-names.ts), exact ones only (a
// wildcard cannot be resolved). Checked before any lookup, so nothing else ever reaches the resolver.
import { hostNameProblem as domainHostNameProblem, isWildcardHost } from '../../core/domain/host-names.js';

/** Why `name` is not a host name the agent resolves, or undefined when it is one. */
export function hostNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (isWildcardHost(name) || name.includes('*')) return 'must be an exact name, not a wildcard';
  return domainHostNameProblem(name);
}

export const isHostName = (name: string): boolean => hostNameProblem(name) === undefined;
