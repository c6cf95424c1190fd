// Which destinations have host names, until the planner hands them over (issue 15): a JSON file
// `{"destinations": [{"id": "…", "hosts": ["db.example.com", …]}, …]}`. Other keys are ignored, so
// the API's own destination list (`GET …/destinations`) can be given once destinations carry hosts;
// destinations without `hosts` are skipped. Validated with zod/mini: ids of the identifier alphabet,
// each once; hosts exact names (host-name.ts).
import * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import { identifierSchema } from '../../core/domain/model-primitives.js';
import { parseWith, zodEnglish } from '../../core/domain/validation.js';
import { readInputFile } from '../source/read-file.js';
import { hostNameProblem } from './host-name.js';

export const MAX_HOST_DESTINATIONS = 10_000;
export const MAX_HOSTS_PER_DESTINATION = 64;
const MAX_NAMES_FILE_BYTES = 16 * 1024 * 1024;

export interface HostDestination {
  readonly id: string;
  readonly hosts: readonly string[];
}

const hostSchema = z.string({ error: zodEnglish }).check(
  z.superRefine((value, context) => {
    const problem = hostNameProblem(value);
    if (problem !== undefined) context.issues.push({ code: 'custom', message: problem, input: value });
  }),
);

const namesFileSchema = z.object(
  {
    destinations: z
      .array(
        z.object(
          {
            id: identifierSchema,
            hosts: z.optional(
              z
                .array(hostSchema, { error: zodEnglish })
                .check(z.maxLength(MAX_HOSTS_PER_DESTINATION, `must hold at most ${MAX_HOSTS_PER_DESTINATION} names`)),
            ),
          },
          { error: zodEnglish },
        ),
        { error: zodEnglish },
      )
      .check(
        z.maxLength(MAX_HOST_DESTINATIONS, `must hold at most ${MAX_HOST_DESTINATIONS} destinations`),
        z.refine((list) => new Set(list.map((d) => d.id)).size === list.length, 'must not repeat a destination id'),
      ),
  },
  { error: zodEnglish },
);

/** The destinations with at least one host of a names document; a ValidationError naming what is wrong. */
export function parseNamesFile(text: string, label = '--names'): HostDestination[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`${label}: malformed JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  let parsed: z.output<typeof namesFileSchema>;
  try {
    parsed = parseWith(namesFileSchema, value);
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`${label}: ${error.message}`);
    throw error;
  }
  return parsed.destinations
    .filter((destination) => destination.hosts !== undefined && destination.hosts.length > 0)
    .map((destination) => ({ id: destination.id, hosts: [...new Set(destination.hosts)].sort() }));
}

export async function readNamesFile(path: string): Promise<HostDestination[]> {
  return parseNamesFile(await readInputFile('--names', path, MAX_NAMES_FILE_BYTES));
}
