// The operator's deny networks (`--deny-networks`): CIDRs no container may open a connection to,
// whatever its allow lists say, as silk's `deny_networks`. `always` holds for every container,
// `running` for app and task containers, `staging` for staging ones. Pure.
import * as z from 'zod/mini';
import { ValidationError } from '../domain/errors.js';
import { parseWith, zodEnglish } from '../domain/validation.js';
import { normalizeCidr } from './cidr.js';
import type { DenyNetworks } from './network-settings.js';

/** More would make every container chain long; an operator's list is a handful. */
export const MAX_DENY_NETWORKS = 256;

const cidr = z.string({ error: zodEnglish }).check(
  z.refine((value) => {
    try {
      normalizeCidr(value);
      return true;
    } catch {
      return false;
    }
  }, 'must be an IPv4 CIDR block such as 169.254.169.254/32'),
);
const list = () =>
  z.optional(
    z
      .array(cidr, { error: zodEnglish })
      .check(z.maxLength(MAX_DENY_NETWORKS, `must hold at most ${MAX_DENY_NETWORKS} networks`)),
  );

const denyNetworksSchema = z.strictObject({ always: list(), running: list(), staging: list() }, { error: zodEnglish });

/**
 * `{"always": [...], "running": [...], "staging": [...]}` (a missing key is an empty list, any other
 * key is refused) → normalized, deduplicated and sorted lists; a ValidationError saying what is wrong.
 */
export function parseDenyNetworks(text: string): DenyNetworks {
  let value: unknown;
  if (COMPACT_FORM.test(text)) value = compactToObject(text);
  else {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ValidationError(`malformed JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const parsed = parseWith(denyNetworksSchema, value, '');
  const canonical = (networks: readonly string[] | undefined): string[] =>
    [...new Set((networks ?? []).map((network) => normalizeCidr(network)))].sort();
  return { always: canonical(parsed.always), running: canonical(parsed.running), staging: canonical(parsed.staging) };
}

/**
 * The same lists in a form that needs no quoting in a shell or a systemd unit (the stack writes it
 * into the sync document and the watcher unit): `always=CIDR,CIDR+running=+staging=CIDR`, every key
 * once, in that order. Only letters, digits and `.,/=+`.
 */
export function formatDenyNetworks(networks: DenyNetworks): string {
  return (['always', 'running', 'staging'] as const).map((key) => `${key}=${networks[key].join(',')}`).join('+');
}

/** `always=…+running=…+staging=…` with each key at most once (order free); its values checked as JSON's are. */
const COMPACT_FORM = /^(?:always|running|staging)=[0-9./,]*(?:\+(?:always|running|staging)=[0-9./,]*)*$/;

function compactToObject(text: string): Record<string, string[]> {
  const lists: Record<string, string[]> = {};
  for (const section of text.split('+')) {
    const [key = '', values = ''] = section.split('=');
    if (Object.hasOwn(lists, key)) throw new ValidationError(`${key}: given twice`);
    lists[key] = values === '' ? [] : values.split(',');
  }
  return lists;
}
