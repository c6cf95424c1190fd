// The API's deployment settings. Lambda gets them from its stack through the environment (lib/api.ts
// sets them), local mode from the environment `npm start` runs in (local/start-options.ts checks them
// first); the names are the same in both.
import { isSourceIdFormat, SOURCE_ID_FORMATS, type SourceIdFormat } from '../../core/domain/model-primitives.js';

/** `guid` (the default) or `identifier`: what a policy source's id must be (see SOURCE_ID_FORMATS). */
export const SOURCE_IDS_ENV = 'EGRESS_SOURCE_IDS';
export const DEFAULT_SOURCE_IDS: SourceIdFormat = 'guid';

export interface ApiSettings {
  readonly sourceIds: SourceIdFormat;
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
  return { ok: true, settings: { sourceIds } };
}

/** Like parseApiSettings, but a bad value throws: a function must not serve with a setting it cannot read. */
export function apiSettingsFrom(env: Readonly<Record<string, string | undefined>>): ApiSettings {
  const parsed = parseApiSettings(env);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.settings;
}
