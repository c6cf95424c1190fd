// The API's deployment settings. Lambda gets them from its stack through the environment (lib/api.ts
// sets them), local mode from the environment `npm start` runs in (local/start-options.ts checks them
// first); the names are the same in both.
import { isSourceIdFormat, SOURCE_ID_FORMATS, type SourceIdFormat } from '../../core/domain/model-primitives.js';
import { normalizeCidr } from '../../core/plan/cidr.js';
import { parseDenyNetworks } from '../../core/plan/deny-networks.js';
import { DEFAULT_OVERLAY_CIDR, type DenyNetworks, NO_DENY_NETWORKS } from '../../core/plan/plan.js';

/** `guid` (the default) or `identifier`: what a policy source's id must be (see SOURCE_ID_FORMATS). */
export const SOURCE_IDS_ENV = 'EGRESS_SOURCE_IDS';
export const DEFAULT_SOURCE_IDS: SourceIdFormat = 'guid';

/**
 * The operator's deny networks and the container network, as the cells get them (the agent's
 * `--deny-networks` value and `--overlay-cidr`): explain plans with them.
 */
export const DENY_NETWORKS_ENV = 'EGRESS_DENY_NETWORKS';
export const OVERLAY_CIDR_ENV = 'EGRESS_OVERLAY_CIDR';

export interface ApiSettings {
  readonly sourceIds: SourceIdFormat;
  /** @default NO_DENY_NETWORKS */
  readonly denyNetworks?: DenyNetworks;
  /** @default DEFAULT_OVERLAY_CIDR */
  readonly overlayCidr?: string;
}

export type ApiSettingsResult =
  | { readonly ok: true; readonly settings: ApiSettings }
  | { readonly ok: false; readonly error: string };

/** The settings in `env`; unset or empty values take their defaults, any other value must be known. */
export function parseApiSettings(env: Readonly<Record<string, string | undefined>>): ApiSettingsResult {
  const sourceIds = env[SOURCE_IDS_ENV] || DEFAULT_SOURCE_IDS;
  if (!isSourceIdFormat(sourceIds)) {
    return {
      ok: false,
      error: `${SOURCE_IDS_ENV} must be ${SOURCE_ID_FORMATS.join(' or ')}, got ${JSON.stringify(sourceIds)}`,
    };
  }
  let denyNetworks: DenyNetworks = NO_DENY_NETWORKS;
  let overlayCidr = DEFAULT_OVERLAY_CIDR;
  try {
    if (env[DENY_NETWORKS_ENV]) denyNetworks = parseDenyNetworks(env[DENY_NETWORKS_ENV]);
  } catch (error) {
    return { ok: false, error: `${DENY_NETWORKS_ENV}: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    if (env[OVERLAY_CIDR_ENV]) overlayCidr = normalizeCidr(env[OVERLAY_CIDR_ENV]);
  } catch {
    return {
      ok: false,
      error: `${OVERLAY_CIDR_ENV} must be an IPv4 CIDR block such as 10.255.0.0/16, got ${JSON.stringify(env[OVERLAY_CIDR_ENV])}`,
    };
  }
  return { ok: true, settings: { sourceIds, denyNetworks, overlayCidr } };
}

/** Like parseApiSettings, but a bad value throws: a function must not serve with a setting it cannot read. */
export function apiSettingsFrom(env: Readonly<Record<string, string | undefined>>): ApiSettings {
  const parsed = parseApiSettings(env);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.settings;
}
