// Which destinations have host names to resolve: a JSON file
// `{"destinations": [{"id": "…", "hosts": ["db.example.com", …]}, …]}`. On a cell the sync writes it
// (SYNC_NAMES_FILE in its state directory: exactly the destinations whose host sets its plan
// matches, writeNamesFile) and the names refresh reads it. Other keys are ignored, so the API's own
// destination list (`GET …/destinations`) can be given by hand too; destinations without `hosts`
// are skipped. Validated with zod/mini: ids of the identifier alphabet, each once; hosts exact
// names (host-name.ts).
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import { identifierSchema } from '../../core/domain/model-primitives.js';
import { parseWith, zodEnglish } from '../../core/domain/validation.js';
import { readInputFile } from '../source/read-file.js';
import { writeWholeSync } from '../write-whole.js';
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

/** A destination's names, each once, sorted: the same names in any order are one host set. */
const sortedNames = (hosts: readonly string[]): string[] => [...new Set(hosts)].sort();
/** What makes a names document's entry one host set: its id and its names (hostSetName keys by both). */
const destinationKey = (id: string, hosts: readonly string[]): string => JSON.stringify([id, sortedNames(hosts)]);

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
        // An id may come twice with other names (each is a host set of its own: formatNamesFile).
        z.refine(
          (list) => new Set(list.map((d) => destinationKey(d.id, d.hosts ?? []))).size === list.length,
          'must not repeat a destination id with the same names',
        ),
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
    .map((destination) => ({ id: destination.id, hosts: sortedNames(destination.hosts ?? []) }));
}

export async function readNamesFile(path: string): Promise<HostDestination[]> {
  return parseNamesFile(await readInputFile('--names', path, MAX_NAMES_FILE_BYTES));
}

/** The names document the sync writes in its state directory (not `names.json`: the refresh's state). */
export const SYNC_NAMES_FILE = 'host-names.json';

/**
 * A names document for these destinations: sorted by id then hosts, hosts sorted and each once, one
 * line. One entry per distinct (id, hosts): each is a host set of its own (hostSetName keys the set
 * by both), so one id listed with two sets of names (a snapshot that disagrees with itself) stays two
 * entries, which the refresh fills under the very names the rules match.
 */
export function formatNamesFile(destinations: readonly HostDestination[]): string {
  const entries = new Map<string, { readonly id: string; readonly hosts: string[] }>();
  for (const { id, hosts } of destinations) entries.set(destinationKey(id, hosts), { id, hosts: sortedNames(hosts) });
  const list = [...entries.values()].sort((a, b) =>
    a.id !== b.id ? (a.id < b.id ? -1 : 1) : a.hosts.join('\n') < b.hosts.join('\n') ? -1 : 1,
  );
  return `${JSON.stringify({ destinations: list })}\n`;
}

/** Beside a sync's names document: the input digest of the apply it was written for (recorded-sync.ts). */
export const namesInputFile = (path: string): string => `${path}.input`;

/** The input the names document at `path` was last written for by a sync; undefined when unknown. */
export function namesWrittenFor(path: string): string | undefined {
  try {
    return readFileSync(namesInputFile(path), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the names document for `destinations` to `path` when its content differs from what is
 * there: a temporary file renamed over it, so a reader sees the old document or the new one, never
 * a part, and the file's inode changes (what the refresh loop watches). True when it wrote. With
 * `input`, the input digest it stands for is written beside it afterwards (namesInputFile), so that
 * a sync can tell a document that fell behind its rules (an apply killed before writing it).
 */
export function writeNamesFile(path: string, destinations: readonly HostDestination[], input?: string): boolean {
  const text = formatNamesFile(destinations);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // Missing or unreadable: written below.
  }
  const wrote = current !== text;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (wrote) writeWholeSync(path, text);
  if (input !== undefined && namesWrittenFor(path) !== input) writeWholeSync(namesInputFile(path), `${input}\n`);
  return wrote;
}

/**
 * A names file the refresh loop follows: `read` notes the file's identity (inode, size, mtime)
 * before reading it, `changed` says whether it moved since. The loop asks `changed` every
 * WATCH_INTERVAL_MS while it sleeps (refresh.ts), so a destination the sync adds is looked up and
 * its set filled within that interval plus the lookup, not at the next expiry. A stat poll, not
 * fs.watch: the sync replaces the file by a rename, which a watch on the file loses (the inode
 * changes), and a watch on the state directory fires for every file written there; one stat a few
 * times a second costs nothing measurable.
 */
export class NamesFileWatch {
  private seen: string | undefined;

  /** @param missingIsEmpty a missing file is no destinations (the sync has not written it yet). */
  constructor(
    readonly path: string,
    private readonly missingIsEmpty: boolean,
  ) {}

  private stamp(): string {
    try {
      const { ino, size, mtimeMs } = statSync(this.path);
      return `${ino}/${size}/${mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  async read(): Promise<HostDestination[]> {
    const stamp = this.stamp();
    const destinations = stamp === 'missing' && this.missingIsEmpty ? [] : await readNamesFile(this.path);
    this.seen = stamp;
    return destinations;
  }

  changed(): boolean {
    return this.seen !== undefined && this.stamp() !== this.seen;
  }
}

/** How often a sleeping refresh loop checks its names file for a change. */
export const WATCH_INTERVAL_MS = 250;
