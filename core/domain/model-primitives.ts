// The policy model's constants and character rules, with no schema built from them: modules that
// need only these (the stores' item decoders, the V3 request bodies) do not carry schemas.ts, whose
// zod schemas a bundler cannot leave out (building them runs code) — about 6 KB of each bundle.
import * as z from 'zod/mini';

/** What a packet is: the protocols the kernel matches (explain's query, the planner's rules). */
export const PACKET_PROTOCOLS = ['tcp', 'udp', 'icmp'] as const;
/**
 * Destinations matched at layer 7, on TCP: `http` by the Host header, `https` by the TLS SNI
 * (host-names.ts). Name-only: they carry `hosts`, never `ips`.
 */
export const LAYER7_PROTOCOLS = ['http', 'https'] as const;
/** A destination's protocol. */
export const PROTOCOLS = [...PACKET_PROTOCOLS, ...LAYER7_PROTOCOLS] as const;

export function isLayer7Protocol(protocol: string): protocol is (typeof LAYER7_PROTOCOLS)[number] {
  return LAYER7_PROTOCOLS.some((layer7) => layer7 === protocol);
}
/** `default`: every app (CF's last policy server), a source without an id. */
export const SOURCE_TYPES = ['app', 'space', 'default'] as const;
/** Which workloads a policy applies to (CF's `app_lifecycle`); `all` when absent, as in CF. */
export const APP_LIFECYCLES = ['running', 'staging', 'all'] as const;
/**
 * What the API accepts as a policy source's id: `guid`, the app's or space's GUID as Cloud Foundry
 * prints it (the default), or `identifier`, any id of the identifier alphabet (non-CF platforms).
 * A deployment setting (lambdas/api/settings.ts); the agent accepts any identifier either way.
 */
export const SOURCE_ID_FORMATS = ['guid', 'identifier'] as const;
/** CF supports one IP range and one port range per destination today. */
export const MAX_IP_RANGES = 1;
export const MAX_PORT_RANGES = 1;
/** The most host names (exact or wildcard) one destination may hold. */
export const MAX_HOSTS = 50;
/** ICMP type/code wildcard, as in CF. */
export const ICMP_ANY = -1;
/**
 * Largest bulk request. Every bulk write is one DynamoDB transaction (at most 100 items); the worst
 * case is three items per entry plus the version record: 3 × 33 + 1 = 100.
 */
export const MAX_ITEMS_PER_REQUEST = 33;

/** Identifiers we hand out or accept (GUIDs in practice): a safe alphabet, never free text. */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
// Control characters in names would corrupt logs and terminals that print them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * A CF GUID: 8-4-4-4-12 hexadecimal digits, either case (CF prints them in lower case). Spelled out
 * without the `i` flag: JSON Schema patterns have no flags, and the OpenAPI document carries this one.
 */
export const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Characters a name may not hold anywhere, even at its ends (U+FEFF would be trimmed silently):
 * an unpaired surrogate (not text; it cannot be stored as UTF-8 and compares unlike anything
 * typed), C1 controls, and the zero-width and bidi formatting characters that make two names look
 * alike or reorder what a terminal shows. C0 controls are refused after trimming, as before.
 */
export const REFUSED_IN_NAMES: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /\p{Cs}/u, what: 'an unpaired surrogate' },
  { pattern: /[\u0080-\u009f]/, what: 'C1 control characters' },
  {
    pattern: /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/,
    what: 'zero-width or bidirectional formatting characters',
  },
];

/** `U+200B` for the first character of `text` (a lone surrogate is one code unit). */
export function codePointName(text: string): string {
  return `U+${(text.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What makes a name unusable anywhere in it (REFUSED_IN_NAMES, C0 controls), or undefined. */
export function refusedNameCharacters(name: string): string | undefined {
  for (const { pattern, what } of REFUSED_IN_NAMES) {
    const found = pattern.exec(name);
    if (found) return `must not contain ${what} (${codePointName(found[0])})`;
  }
  return CONTROL_CHARACTERS.test(name) ? 'must not contain control characters' : undefined;
}

/** True for a string that could be one of our ids; anything else cannot name a stored object. */
export function isIdentifier(value: string): boolean {
  return IDENTIFIER_PATTERN.test(value);
}

export const required =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : `must be ${expected}`;

/** An id of ours or a CF GUID; the agent's container-store schema uses it for app and space ids. */
export const identifierSchema = z
  .string({ error: required('a string') })
  .check(z.regex(IDENTIFIER_PATTERN, 'must be 1-128 characters of letters, digits, ".", "_", ":" or "-"'));

export type SourceIdFormat = (typeof SOURCE_ID_FORMATS)[number];

export function isSourceIdFormat(value: string): value is SourceIdFormat {
  return SOURCE_ID_FORMATS.some((format) => format === value);
}
