// The names' state kept between processes (`names.json` in the state directory), so a restarted
// agent keeps each address until the expiry + grace it had, instead of dropping to what its first
// lookups return. Written atomically (a temporary file renamed over the old one); decoded with
// zod/mini when read back. A file that is missing, unreadable, corrupt or of another version is not
// trusted: the agent starts without it (a warning says so) and looks every name up again.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { formatIssues } from '../../core/domain/validation.js';
import { writeWholeSync } from '../write-whole.js';
import { isHostName } from './host-name.js';
import type { NameEntry, NameStates } from './name-state.js';

export const NAMES_STATE_FILE = 'names.json';
const VERSION = 1;
/** A state of 10,000 names × 64 addresses is ~30 MB; more is not ours. */
const MAX_STATE_BYTES = 32 * 1024 * 1024;
const MAX_ADDRESSES = 4096;

const time = z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));
const entrySchema = z.strictObject({
  addresses: z
    .array(z.strictObject({ address: z.string().check(z.refine(isIpv4, 'must be an IPv4 address')), expiresAt: time }))
    .check(z.maxLength(MAX_ADDRESSES)),
  nextLookupAt: time,
  failures: z.number().check(z.int(), z.gte(0), z.lte(1_000_000)),
});
const stateSchema = z.strictObject({
  version: z.literal(VERSION),
  names: z.record(z.string().check(z.refine(isHostName, 'must be a host name')), entrySchema),
});

export type StateRead = { readonly states: Map<string, NameEntry>; readonly warning?: string };

/** The state in `dir`; an empty one (with a warning, unless the file is simply missing) when it cannot be trusted. */
export function readNameStates(dir: string): StateRead {
  const path = join(dir, NAMES_STATE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { states: new Map() };
    return { states: new Map(), warning: `${path}: cannot read (${code ?? String(error)}), starting without it` };
  }
  const ignored = (why: string): StateRead => ({ states: new Map(), warning: `${path}: ${why}, ignored` });
  if (text.length > MAX_STATE_BYTES) return ignored(`larger than ${MAX_STATE_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return ignored('not JSON');
  }
  const parsed = z.safeParse(stateSchema, value);
  if (!parsed.success) return ignored(formatIssues(parsed.error.issues, 'state'));
  // zod's record passes over a `__proto__` key without checking it: every key must have come through.
  const keys = Object.keys((value as { names: object }).names);
  if (keys.some((key) => !Object.hasOwn(parsed.data.names, key)))
    return ignored('state.names: a key is not a host name');
  return { states: new Map(Object.entries(parsed.data.names)) };
}

/** Writes the state atomically (mode 0600, the directory made 0700 when missing). */
export function writeNameStates(dir: string, states: NameStates): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = Object.fromEntries([...states].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  writeWholeSync(join(dir, NAMES_STATE_FILE), `${JSON.stringify({ version: VERSION, names })}\n`);
}
