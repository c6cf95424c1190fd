import { explain } from '../../../core/plan/explain.js';
import { explainLayer7 } from '../../../core/plan/explain-layer7.js';
import { type ExplainStores, explainStoresFromEnvironment } from '../../shared/explain-stores-environment.js';
import { createApiHandler } from '../api-handler.js';
import { parseExplainQuery } from '../explain-query.js';
import { DENY_NETWORKS_ENV, type ExplainSettings, explainSettingsFrom } from '../explain-settings.js';
import type { Operation } from '../types.js';

/**
 * Not part of CF's API: would a new connection from a container of this app be allowed, and why; for
 * http and https, would the cell's proxy let the request (or TLS connection) through (explain-layer7.ts).
 * Reads what can apply to it (the app's, the space's and every-app policies; every security group)
 * and answers with the plan a cell would program for it (core/plan/explain.ts), under the deny
 * networks and overlay the cells get. `version` is the policy version read before the policies, so
 * the answer reflects at least that version.
 */
export function explainWith(settings: () => ExplainSettings): Operation<ExplainStores> {
  return async (request, { policies, securityGroups }) => {
    const query = parseExplainQuery(request.query);
    const version = await policies.currentVersion();
    const [own, everyApp, groups] = await Promise.all([
      policies.findEgressPolicies({ sourceIds: [query.app, query.space] }),
      policies.findEgressPolicies({ sourceTypes: ['default'] }),
      securityGroups.listSecurityGroups(),
    ]);
    const state = { version, policies: [...own, ...everyApp], groups };
    const answer = 'host' in query ? explainLayer7(query, state, settings()) : explain(query, state, settings());
    return { statusCode: 200, body: answer };
  };
}

/**
 * Local mode's: the deny networks its cells get (EGRESS_DENY_NETWORKS, which start-options.ts
 * checked), read when asked; its cells run on the agent's default overlay, and so does this.
 */
export const explainConnection = explainWith(() =>
  explainSettingsFrom({ [DENY_NETWORKS_ENV]: process.env[DENY_NETWORKS_ENV] }),
);

// Lambda's: read once, at the cold start, so that a function never serves with settings it misread.
const deployed = explainSettingsFrom(process.env);
export const handler = createApiHandler(
  explainWith(() => deployed),
  explainStoresFromEnvironment,
);
