// The JSON `cf curl /v3/security_groups` prints, read as the groups to import: a V3 list
// (`{"pagination", "resources": [...]}`), a bare array of groups, or an array of such lists (pages
// saved one after another). A group that appears twice (overlapping pages) is imported once: its
// bindings joined, its last rules and global flags kept.
import * as z from 'zod/mini';
import { ValidationError } from '../core/domain/errors.js';
import { parseWith } from '../core/domain/validation.js';
import { CommandFailed } from './errors.js';
import './zod-messages.js';

const related = z.object({ data: z.array(z.looseObject({ guid: z.string() })) });

const exportedGroupSchema = z.looseObject({
  name: z.string(),
  rules: z.optional(z.array(z.record(z.string(), z.unknown()))),
  globally_enabled: z.optional(z.looseObject({ running: z.optional(z.boolean()), staging: z.optional(z.boolean()) })),
  relationships: z.optional(
    z.looseObject({ running_spaces: z.optional(related), staging_spaces: z.optional(related) }),
  ),
});
const listSchema = z.looseObject({ resources: z.array(exportedGroupSchema) });

/** One group as the import wants it to be. */
export interface ImportedGroup {
  readonly name: string;
  readonly rules: readonly Readonly<Record<string, unknown>>[];
  readonly globallyEnabled: { readonly running: boolean; readonly staging: boolean };
  /** Lower case, as the API stores GUIDs. */
  readonly runningSpaces: readonly string[];
  readonly stagingSpaces: readonly string[];
}

type ExportedGroup = z.infer<typeof exportedGroupSchema>;

const guidsOf = (value: { data: readonly { guid: string }[] } | undefined): string[] =>
  (value?.data ?? []).map((item) => item.guid.toLowerCase());

function decode<S extends z.core.$ZodType>(schema: S, value: unknown, path: string, where: string): z.output<S> {
  try {
    return parseWith(schema, value, 'document');
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new CommandFailed(
        `${path} is not the output of \`cf curl /v3/security_groups\`: ${where}${error.message}`,
        'expected {"resources": [groups]}, an array of groups, or an array of such pages',
      );
    }
    throw error;
  }
}

const isPage = (value: unknown): boolean => typeof value === 'object' && value !== null && 'resources' in value;

/** The groups of the file, in its order: a page's resources, or each item of an array (a page or a group). */
function exportedGroups(document: unknown, path: string): ExportedGroup[] {
  if (!Array.isArray(document)) return decode(listSchema, document, path, '').resources;
  return document.flatMap((item: unknown, index) =>
    isPage(item)
      ? decode(listSchema, item, path, `item ${index}: `).resources
      : [decode(exportedGroupSchema, item, path, `item ${index}: `)],
  );
}

export function importedGroups(document: unknown, path: string): ImportedGroup[] {
  const exported = exportedGroups(document, path);
  const byName = new Map<string, ImportedGroup>();
  for (const group of exported) {
    const earlier = byName.get(group.name);
    const union = (a: readonly string[] = [], b: readonly string[]) => [...new Set([...a, ...b])];
    byName.set(group.name, {
      name: group.name,
      rules: group.rules ?? [],
      globallyEnabled: {
        running: group.globally_enabled?.running ?? false,
        staging: group.globally_enabled?.staging ?? false,
      },
      runningSpaces: union(earlier?.runningSpaces, guidsOf(group.relationships?.running_spaces)),
      stagingSpaces: union(earlier?.stagingSpaces, guidsOf(group.relationships?.staging_spaces)),
    });
  }
  return [...byName.values()];
}
