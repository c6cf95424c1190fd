// Cloud Foundry's container metadata store as a cell keeps it
// (/var/vcap/data/container-metadata/store.json): {"<handle>": {"handle", "ip", "metadata": {...}}}.
// Agent input, not API: only the fields the agent uses are checked, others are kept out of the way.
import * as z from 'zod/mini';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { identifierSchema } from '../../core/domain/schemas.js';
import { zodEnglish } from '../../core/domain/validation.js';

const MAX_HANDLE_LENGTH = 256;

const required =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : `must be ${expected}`;

/** Same alphabet as the domain's identifiers: GUIDs in practice, never free text. */
const id = identifierSchema;

export const containerEntrySchema = z.object(
  {
    handle: z
      .string({ error: required('a string') })
      .check(z.maxLength(MAX_HANDLE_LENGTH, 'must be at most 256 characters')),
    ip: z.string({ error: required('an IPv4 address string') }).check(z.refine(isIpv4, 'must be an IPv4 address')),
    metadata: z.object({ app_id: id, space_id: id }, { error: required('an object with app_id and space_id') }),
  },
  { error: required('an object with handle, ip and metadata') },
);

export const containerStoreSchema = z.record(
  z.string({ error: zodEnglish }).check(z.maxLength(MAX_HANDLE_LENGTH, 'handles must be at most 256 characters')),
  containerEntrySchema,
  { error: required('a JSON object keyed by container handle') },
);

export type ContainerEntry = z.output<typeof containerEntrySchema>;
export type ContainerStore = z.output<typeof containerStoreSchema>;
