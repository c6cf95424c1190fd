// What GET /explain plans with besides the policies: the operator's deny networks and the container
// network, as the cells get them (the agent's `--deny-networks` and `--overlay-cidr`). Lambda gets
// them from its stack (lib/api.ts gives them to explain's function only), local mode from the
// environment `npm start` runs in (local/start-options.ts checks the deny networks first). Apart from
// settings.ts so that no other route's bundle carries the parser.
import { normalizeCidr } from '../../core/plan/cidr.js';
import { parseDenyNetworks } from '../../core/plan/deny-networks.js';
import { DEFAULT_OVERLAY_CIDR, type DenyNetworks, NO_DENY_NETWORKS } from '../../core/plan/network-settings.js';

export const DENY_NETWORKS_ENV = 'EGRESS_DENY_NETWORKS';
export const OVERLAY_CIDR_ENV = 'EGRESS_OVERLAY_CIDR';

export interface ExplainSettings {
  readonly denyNetworks: DenyNetworks;
  readonly overlayCidr: string;
}

/** The settings in `env`; unset or empty values take their defaults. Throws, naming the variable, on a bad one. */
export function explainSettingsFrom(env: Readonly<Record<string, string | undefined>>): ExplainSettings {
  const denyText = env[DENY_NETWORKS_ENV];
  const overlayText = env[OVERLAY_CIDR_ENV];
  let denyNetworks = NO_DENY_NETWORKS;
  if (denyText) {
    try {
      denyNetworks = parseDenyNetworks(denyText);
    } catch (error) {
      throw new Error(`${DENY_NETWORKS_ENV}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  let overlayCidr = DEFAULT_OVERLAY_CIDR;
  if (overlayText) {
    try {
      overlayCidr = normalizeCidr(overlayText);
    } catch {
      throw new Error(
        `${OVERLAY_CIDR_ENV} must be an IPv4 CIDR block such as 10.255.0.0/16, got ${JSON.stringify(overlayText)}`,
      );
    }
  }
  return { denyNetworks, overlayCidr };
}
