// Reading security groups: every page of a list, and a group named by GUID or by name.
import { GUID_PATTERN } from '../core/domain/model-primitives.js';
import { V3_PREFIX } from '../lambdas/api/routes.js';
import { decodeAnswer, type SecurityGroup, securityGroupListSchema, securityGroupSchema } from './answers.js';
import type { ApiClient } from './api-client.js';
import { CommandFailed } from './errors.js';

export const SECURITY_GROUPS = `${V3_PREFIX}/security_groups`;
/** CF's largest page: a list of thousands of groups is a few requests. */
const PER_PAGE = 5000;

/** Every group the filters match, page after page. */
export async function listSecurityGroups(
  api: ApiClient,
  filters: Record<string, string> = {},
): Promise<SecurityGroup[]> {
  const groups: SecurityGroup[] = [];
  for (let page = 1; ; page += 1) {
    const query = new URLSearchParams({ ...filters, per_page: String(PER_PAGE), page: String(page) });
    const answer = decodeAnswer(
      securityGroupListSchema,
      await api.request('GET', SECURITY_GROUPS, { query }),
      'security groups',
    );
    groups.push(...answer.resources);
    if (page >= answer.pagination.total_pages || answer.resources.length === 0) return groups;
  }
}

/** The group `ref` names: a GUID is read directly, anything else is looked up as a name. */
export async function findSecurityGroup(api: ApiClient, ref: string): Promise<SecurityGroup> {
  if (GUID_PATTERN.test(ref)) {
    const answer = await api.request('GET', `${SECURITY_GROUPS}/${ref.toLowerCase()}`);
    return decodeAnswer(securityGroupSchema, answer, 'security group');
  }
  // A name with a comma cannot go into the `names` filter (it splits at commas): look through all.
  const candidates = ref.includes(',') ? await listSecurityGroups(api) : await listSecurityGroups(api, { names: ref });
  const found = candidates.find((group) => group.name === ref);
  if (found === undefined) {
    throw new CommandFailed(
      `no security group named ${JSON.stringify(ref)}`,
      'list them: egressctl security-groups list',
    );
  }
  return found;
}
