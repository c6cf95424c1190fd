// The filters of GET /v3/security_groups, as Cloud Controller's SecurityGroupListMessage takes them:
// comma-separated lists (a group matches one of the values) and "true"/"false" flags.
import type { SourceIdFormat } from '../../../core/domain/model-primitives.js';
import type { SecurityGroup } from '../../../core/domain/security-group.js';
import type { ApiRequest } from '../types.js';
import { pathTargetGuid } from './security-group-body.js';

type Filter = (group: SecurityGroup) => boolean;

const list = (raw: string): Set<string> => new Set(raw.split(','));

/**
 * The filters a request names; each problem is CF's list-message error text. Values are compared as
 * groups store them: names in NFC, space guids as a bind stores them (pathTargetGuid: lower case in
 * guid mode, as given otherwise; a value no bind would take matches nothing).
 */
export function securityGroupFilters(request: ApiRequest, format: SourceIdFormat, problems: string[]): Filter[] {
  const spaceIds = (raw: string) => new Set(raw.split(',').flatMap((value) => pathTargetGuid(value, format) ?? []));
  const filters: Filter[] = [];
  const { guids, names, running_space_guids, staging_space_guids } = request.query;
  if (guids !== undefined) {
    const wanted = list(guids);
    filters.push((group) => wanted.has(group.guid));
  }
  if (names !== undefined) {
    const wanted = list(names.normalize('NFC'));
    filters.push((group) => wanted.has(group.name));
  }
  if (running_space_guids !== undefined) {
    const wanted = spaceIds(running_space_guids);
    filters.push((group) => group.bindings.running.space.some((guid) => wanted.has(guid)));
  }
  if (staging_space_guids !== undefined) {
    const wanted = spaceIds(staging_space_guids);
    filters.push((group) => group.bindings.staging.space.some((guid) => wanted.has(guid)));
  }
  for (const [parameter, label, lifecycle] of [
    ['globally_enabled_running', 'Globally enabled running', 'running'],
    ['globally_enabled_staging', 'Globally enabled staging', 'staging'],
  ] as const) {
    const raw = request.query[parameter];
    if (raw === undefined) continue;
    if (raw !== 'true' && raw !== 'false') {
      problems.push(`${label} must be a boolean`);
      continue;
    }
    const wanted = raw === 'true';
    filters.push((group) => group.globallyEnabled[lifecycle] === wanted);
  }
  return filters;
}
