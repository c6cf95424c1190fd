// `egressctl import-asgs FILE`: CF's security groups, as `cf curl /v3/security_groups` prints them,
// made to exist here with their space bindings. Idempotent (asg-import-plan.ts): a second run of the
// same file changes nothing and sends no write. A group the API refuses is reported and the others
// carry on; the exit code is then 1.
import type { ApiClient } from '../api-client.js';
import { importedGroups } from '../asg-export.js';
import { bindingsAdded, type GroupChange, planGroup } from '../asg-import-plan.js';
import type { CommandSpec } from '../command-table.js';
import { type CtlContext, printJson } from '../context.js';
import { CommandFailed } from '../errors.js';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes.js';
import { readJsonFile } from '../json-file.js';
import { listSecurityGroups, SECURITY_GROUPS } from '../security-groups-api.js';
import { renderTable } from '../table.js';

async function apply(api: ApiClient, change: GroupChange): Promise<void> {
  if (change.kind === 'create') {
    await api.request('POST', SECURITY_GROUPS, { body: change.body });
    return;
  }
  if (change.kind === 'unchanged') return;
  if (change.patch) await api.request('PATCH', `${SECURITY_GROUPS}/${change.guid}`, { body: change.patch });
  for (const relationship of ['running_spaces', 'staging_spaces'] as const) {
    const guids = change.bind[relationship];
    if (guids.length === 0) continue;
    await api.request('POST', `${SECURITY_GROUPS}/${change.guid}/relationships/${relationship}`, {
      body: { data: guids.map((guid) => ({ guid })) },
    });
  }
}

function detail(change: GroupChange): string {
  if (change.kind === 'create') return `with ${change.bindings} binding(s)`;
  if (change.kind === 'unchanged') return '';
  const changed = Object.keys(change.patch ?? {}).join(', ');
  const bindings = bindingsAdded(change);
  return [changed && `changed ${changed}`, bindings > 0 && `bound ${bindings} space(s)`].filter(Boolean).join('; ');
}

const KIND_WORD = { create: 'created', update: 'updated', unchanged: 'unchanged' } as const;

export const IMPORT_COMMANDS: readonly CommandSpec<CtlContext>[] = [
  {
    words: ['import-asgs'],
    positionals: ['FILE'],
    summary: "import CF's security groups (`cf curl /v3/security_groups` output) with their space bindings",
    options: {
      'dry-run': { type: 'boolean', description: 'say what would change, change nothing' },
    },
    notes: [
      'example:',
      "  cf curl '/v3/security_groups?per_page=5000' > asgs.json && egressctl import-asgs asgs.json",
      '',
      'FILE is a V3 list ({"resources": [...]}), an array of groups, or an array of such pages (- for stdin).',
      'Each group is found by name: created when missing (rules, globally_enabled, running and staging',
      'spaces), else its rules and globally_enabled are set when they differ and the spaces it lacks are',
      'bound. Bindings the file does not list stay. A second run changes nothing and sends no write.',
    ],
    run: async (invocation, context) => {
      const path = invocation.positionals[0] ?? '';
      const imported = importedGroups(readJsonFile(path), path);
      const api = await context.api();
      const existing = new Map((await listSecurityGroups(api)).map((group) => [group.name, group]));
      const dryRun = invocation.flag('dry-run');
      const results: { change: GroupChange; error?: string }[] = [];
      for (const group of imported) {
        const change = planGroup(group, existing.get(group.name));
        try {
          if (!dryRun) await apply(api, change);
          results.push({ change });
        } catch (error) {
          // A refused group is reported and the import goes on; no API or no token ends it.
          if (!(error instanceof CommandFailed)) throw error;
          results.push({ change, error: error.message });
        }
      }
      const done = results.filter((result) => result.error === undefined);
      const count = (kind: GroupChange['kind']) => done.filter((result) => result.change.kind === kind).length;
      const summary = {
        dry_run: dryRun,
        created: count('create'),
        updated: count('update'),
        unchanged: count('unchanged'),
        failed: results.length - done.length,
        bindings_added: done.reduce((sum, result) => sum + bindingsAdded(result.change), 0),
        changes: count('create') + count('update'),
        groups: results.map(({ change, error }) => ({
          name: change.name,
          result: error === undefined ? KIND_WORD[change.kind] : 'failed',
          ...(error === undefined ? {} : { error }),
        })),
      };
      if (context.json) printJson(context.io, summary);
      else {
        const rows = results.map(({ change, error }) => [
          change.name,
          error === undefined ? KIND_WORD[change.kind] : 'FAILED',
          error ?? detail(change),
        ]);
        context.io.stdout(renderTable(['GROUP', 'RESULT', 'DETAIL'], rows));
        context.io.stdout(
          `${dryRun ? 'dry run, would make ' : ''}${summary.changes} change(s): ${summary.created} created, ` +
            `${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} failed; ` +
            `${summary.bindings_added} space binding(s) added\n`,
        );
      }
      return summary.failed > 0 ? EXIT_FAILED : EXIT_OK;
    },
  },
];
