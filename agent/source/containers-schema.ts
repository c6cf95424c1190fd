// Cloud Foundry's container metadata store as a cell keeps it
// (/var/vcap/data/container-metadata/store.json): {"<handle>": {"handle", "ip", "metadata": {...}}}.
// Agent input, not API: only the fields the agent uses are checked, others are kept out of the way.
// Where the entries' IPs may be (the overlay) and that they differ is checked in containers.ts.
import * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { identifierSchema } from '../../core/domain/schemas.js';
import { CONTAINER_WORKLOADS } from '../../core/domain/security-group.js';
import { formatIssues, zodEnglish } from '../../core/domain/validation.js';

const MAX_HANDLE_LENGTH = 256;

const required =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : `must be ${expected}`;

/** Same alphabet as the domain's identifiers: GUIDs in practice, never free text. */
const id = identifierSchema;

const workload = z.enum(CONTAINER_WORKLOADS, { error: required(`one of ${CONTAINER_WORKLOADS.join(', ')}`) });

export const containerEntrySchema = z.object(
  {
    handle: z
      .string({ error: required('a string') })
      .check(z.maxLength(MAX_HANDLE_LENGTH, 'must be at most 256 characters')),
    ip: z.string({ error: required('an IPv4 address string') }).check(z.refine(isIpv4, 'must be an IPv4 address')),
    metadata: z.object(
      { app_id: id, space_id: id, org_id: z.optional(id), container_workload: z.optional(workload) },
      { error: required('an object with app_id and space_id') },
    ),
  },
  { error: required('an object with handle, ip and metadata') },
);

const handleSchema = z
  .string({ error: zodEnglish })
  .check(z.maxLength(MAX_HANDLE_LENGTH, 'handles must be at most 256 characters'));

export type ContainerEntry = z.output<typeof containerEntrySchema>;

/** One store entry with the key it was stored under. */
export interface StoreEntry {
  readonly handle: string;
  readonly entry: ContainerEntry;
}

const isJsonObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The store's entries, in file order, one per key. Not a `z.record`: that copies the entries into a
 * new object keyed by handle, and assigning the key `__proto__` sets the copy's prototype instead, so
 * that entry vanished, unvalidated. Any string can be a Garden handle (CF uses GUIDs) and the handle
 * reaches no rule, only messages, so `__proto__` or `constructor` are handles like others: the entries
 * stay a list, never an object keyed by handle, and every key of the file is one entry out.
 */
export function parseContainerStore(value: unknown): StoreEntry[] {
  if (!isJsonObject(value)) throw new ValidationError('must be a JSON object keyed by container handle');
  const pairs: [string, unknown][] = Object.entries(value);
  const entries: StoreEntry[] = [];
  const issues: z.core.$ZodIssue[] = [];
  for (const [handle, raw] of pairs) {
    const checked = [z.safeParse(handleSchema, handle), z.safeParse(containerEntrySchema, raw)] as const;
    for (const result of checked) {
      if (!result.success)
        issues.push(...result.error.issues.map((issue) => ({ ...issue, path: [handle, ...issue.path] })));
    }
    const [, entry] = checked;
    if (entry.success) entries.push({ handle, entry: entry.data });
  }
  if (issues.length > 0) throw new ValidationError(formatIssues(issues, ''));
  return entries;
}
