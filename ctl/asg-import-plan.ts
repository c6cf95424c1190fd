// What importing CF's security groups changes, decided from what the API already holds, before any
// write: a group missing by name is created whole (rules, global flags, bindings in one request); an
// existing one gets a PATCH only of what differs and a bind only of the spaces it lacks. So a second
// import of the same file plans nothing, and makes no write at all. Bindings the file does not list
// are left alone: an import adds, it never unbinds.
import type { SecurityGroup } from './answers.js';
import type { ImportedGroup } from './asg-export.js';

export type GroupChange =
  | {
      readonly kind: 'create';
      readonly name: string;
      readonly body: Record<string, unknown>;
      readonly bindings: number;
    }
  | {
      readonly kind: 'update';
      readonly name: string;
      readonly guid: string;
      /** Undefined: rules and global flags are as imported; only bindings are missing. */
      readonly patch: Record<string, unknown> | undefined;
      readonly bind: { readonly running_spaces: readonly string[]; readonly staging_spaces: readonly string[] };
    }
  | { readonly kind: 'unchanged'; readonly name: string; readonly guid: string };

/** JSON with object keys sorted, so two rules with the same fields in another order compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const related = (guids: readonly string[]) => ({ data: guids.map((guid) => ({ guid })) });

function missing(wanted: readonly string[], bound: { data: readonly { guid: string }[] }): string[] {
  const have = new Set(bound.data.map((item) => item.guid.toLowerCase()));
  return wanted.filter((guid) => !have.has(guid));
}

export function planGroup(imported: ImportedGroup, existing: SecurityGroup | undefined): GroupChange {
  if (existing === undefined) {
    return {
      kind: 'create',
      name: imported.name,
      body: {
        name: imported.name,
        rules: imported.rules,
        globally_enabled: imported.globallyEnabled,
        relationships: {
          running_spaces: related(imported.runningSpaces),
          staging_spaces: related(imported.stagingSpaces),
        },
      },
      bindings: imported.runningSpaces.length + imported.stagingSpaces.length,
    };
  }
  const patch: Record<string, unknown> = {};
  if (canonical(imported.rules) !== canonical(existing.rules)) patch.rules = imported.rules;
  const global: Record<string, boolean> = {};
  for (const lifecycle of ['running', 'staging'] as const) {
    if (imported.globallyEnabled[lifecycle] !== existing.globally_enabled[lifecycle]) {
      global[lifecycle] = imported.globallyEnabled[lifecycle];
    }
  }
  if (Object.keys(global).length > 0) patch.globally_enabled = global;
  const bind = {
    running_spaces: missing(imported.runningSpaces, existing.relationships.running_spaces),
    staging_spaces: missing(imported.stagingSpaces, existing.relationships.staging_spaces),
  };
  const hasPatch = Object.keys(patch).length > 0;
  if (!hasPatch && bind.running_spaces.length === 0 && bind.staging_spaces.length === 0) {
    return { kind: 'unchanged', name: imported.name, guid: existing.guid };
  }
  return { kind: 'update', name: imported.name, guid: existing.guid, patch: hasPatch ? patch : undefined, bind };
}

export const bindingsAdded = (change: GroupChange): number =>
  change.kind === 'create'
    ? change.bindings
    : change.kind === 'update'
      ? change.bind.running_spaces.length + change.bind.staging_spaces.length
      : 0;
