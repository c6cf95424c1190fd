// `egressctl security-groups list|show|create|bind|unbind|enable-globally|disable-globally|delete`:
// CF's V3 security groups. A GROUP argument is a GUID or a name.

import { escapeNonPrinting } from '../../core/domain/validation.js';
import { decodeAnswer, type SecurityGroup, securityGroupSchema } from '../answers.js';
import type { ApiClient } from '../api-client.js';
import type { CommandSpec, Invocation, OptionSpec } from '../command-table.js';
import { type CtlContext, printJson } from '../context.js';
import { UsageError } from '../errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { readJsonFile } from '../json-file.js';
import { findSecurityGroup, listSecurityGroups, SECURITY_GROUPS } from '../security-groups-api.js';
import { renderTable } from '../table.js';

type Lifecycle = 'running' | 'staging';

function lifecyclesOf(invocation: Invocation, allowAll: boolean): Lifecycle[] {
  const value = invocation.string('lifecycle') ?? 'running';
  if (value === 'running' || value === 'staging') return [value];
  if (allowAll && value === 'all') return ['running', 'staging'];
  throw new UsageError(
    `--lifecycle: must be running${allowAll ? ', staging or all' : ' or staging'}, got ${JSON.stringify(value)}`,
  );
}

const LIFECYCLE_OPTION: OptionSpec = {
  type: 'string',
  value: 'running|staging',
  description: 'for running (app and task) or staging containers',
  defaultText: 'running',
};

const guidsOf = (related: { data: readonly { guid: string }[] } | undefined): string[] =>
  (related?.data ?? []).map((item) => item.guid);

function globalText(group: SecurityGroup): string {
  const on = (['running', 'staging'] as const).filter((lifecycle) => group.globally_enabled[lifecycle]);
  return on.length === 0 ? '-' : on.join(',');
}

export function securityGroupTable(groups: readonly SecurityGroup[]): string {
  const rows = groups.map((group) => [
    group.guid,
    group.name,
    String(group.rules.length),
    globalText(group),
    String(guidsOf(group.relationships.running_spaces).length),
    String(guidsOf(group.relationships.staging_spaces).length),
    String(
      guidsOf(group.relationships.running_organizations).length +
        guidsOf(group.relationships.staging_organizations).length,
    ),
  ]);
  return renderTable(['GUID', 'NAME', 'RULES', 'GLOBAL', 'RUNNING SPACES', 'STAGING SPACES', 'ORGS'], rows);
}

const text = (value: unknown): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);

/** One group for a person: its facts, its rules as a table, and what it is bound to. */
export function securityGroupDetails(group: SecurityGroup): string {
  const bound = (label: string, guids: readonly string[]): string =>
    `${label}: ${guids.length === 0 ? '-' : guids.join(', ')}`;
  const rules = group.rules.map((rule) => [
    text(rule.protocol),
    text(rule.destination),
    text(rule.ports),
    rule.type === undefined ? '' : `${text(rule.type)}/${text(rule.code)}`,
    rule.log === true ? 'yes' : '',
    text(rule.description),
  ]);
  const facts = [
    `name: ${group.name}`,
    `guid: ${group.guid}`,
    `globally enabled: ${globalText(group)}`,
    bound('running spaces', guidsOf(group.relationships.running_spaces)),
    bound('staging spaces', guidsOf(group.relationships.staging_spaces)),
    bound('running organizations', guidsOf(group.relationships.running_organizations)),
    bound('staging organizations', guidsOf(group.relationships.staging_organizations)),
  ];
  const table = renderTable(['PROTOCOL', 'DESTINATION', 'PORTS', 'ICMP', 'LOG', 'DESCRIPTION'], rules);
  return `${facts.map(escapeNonPrinting).join('\n')}\n\n${table}`;
}

function printGroup(context: CtlContext, group: SecurityGroup, raw: unknown): void {
  if (context.json) printJson(context.io, raw);
  else context.io.stdout(securityGroupDetails(group));
}

/** Reads the group back after a write, so every write prints the group as it now is. */
async function showAfterWrite(context: CtlContext, api: ApiClient, guid: string): Promise<number> {
  const raw = await api.request('GET', `${SECURITY_GROUPS}/${guid}`);
  printGroup(context, decodeAnswer(securityGroupSchema, raw, 'security group'), raw);
  return EXIT_OK;
}

const BINDING_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  space: { type: 'string', value: 'GUID', description: 'a space', multiple: true },
  org: {
    type: 'string',
    value: 'GUID',
    description: 'an organisation (every space in it, also later ones)',
    multiple: true,
  },
  lifecycle: LIFECYCLE_OPTION,
};

/** Each relationship a bind or unbind touches, with its guids. */
function bindingTargets(invocation: Invocation): { relationship: string; guids: readonly string[] }[] {
  const spaces = invocation.strings('space');
  const orgs = invocation.strings('org');
  if (spaces.length === 0 && orgs.length === 0) throw new UsageError('give at least one --space GUID or --org GUID');
  const [lifecycle] = lifecyclesOf(invocation, false);
  return [
    { relationship: `${lifecycle}_spaces`, guids: spaces },
    { relationship: `${lifecycle}_organizations`, guids: orgs },
  ].filter((target) => target.guids.length > 0);
}

function globalCommand(enable: boolean): CommandSpec<CtlContext> {
  return {
    words: ['security-groups', enable ? 'enable-globally' : 'disable-globally'],
    positionals: ['GROUP'],
    summary: `${enable ? 'apply' : 'stop applying'} a group to every space${enable ? '' : ' (its bindings stay)'}`,
    options: { lifecycle: { ...LIFECYCLE_OPTION, value: 'running|staging|all' } },
    run: async (invocation, context) => {
      const globally_enabled = Object.fromEntries(
        lifecyclesOf(invocation, true).map((lifecycle) => [lifecycle, enable]),
      );
      const api = await context.api();
      const group = await findSecurityGroup(api, invocation.positionals[0] ?? '');
      await api.request('PATCH', `${SECURITY_GROUPS}/${group.guid}`, { body: { globally_enabled } });
      return showAfterWrite(context, api, group.guid);
    },
  };
}

export const SECURITY_GROUP_COMMANDS: readonly CommandSpec<CtlContext>[] = [
  {
    words: ['security-groups', 'list'],
    summary: 'list security groups (every page)',
    options: {
      name: { type: 'string', value: 'NAME', description: 'only this name', multiple: true },
      space: {
        type: 'string',
        value: 'GUID',
        description: 'only groups bound to this space for running',
        multiple: true,
      },
    },
    run: async (invocation, context) => {
      const filters: Record<string, string> = {};
      if (invocation.strings('name').length > 0) filters.names = invocation.strings('name').join(',');
      if (invocation.strings('space').length > 0) filters.running_space_guids = invocation.strings('space').join(',');
      const groups = await listSecurityGroups(await context.api(), filters);
      // JSON: CF's list shape, with every page's resources in one.
      if (context.json) printJson(context.io, { pagination: { total_results: groups.length }, resources: groups });
      else context.io.stdout(securityGroupTable(groups));
      return EXIT_OK;
    },
  },
  {
    words: ['security-groups', 'show'],
    positionals: ['GROUP'],
    summary: 'one security group: its rules and bindings',
    options: {},
    run: async (invocation, context) => {
      const group = await findSecurityGroup(await context.api(), invocation.positionals[0] ?? '');
      printGroup(context, group, group);
      return EXIT_OK;
    },
  },
  {
    words: ['security-groups', 'create'],
    summary: "create a security group from a JSON file (CF's V3 body: name, rules, globally_enabled, relationships)",
    options: {
      file: { type: 'string', value: 'FILE', description: 'the group as JSON (- for stdin); required' },
    },
    notes: [
      'example file:',
      '  {"name": "public_networks_egress",',
      '   "rules": [{"protocol": "all", "destination": "0.0.0.0-9.255.255.255"}]}',
    ],
    run: async (invocation, context) => {
      const file = invocation.string('file');
      if (file === undefined) throw new UsageError('security-groups create: --file FILE is required');
      const body = readJsonFile(file);
      const api = await context.api();
      const raw = await api.request('POST', SECURITY_GROUPS, { body });
      printGroup(context, decodeAnswer(securityGroupSchema, raw, 'security group'), raw);
      return EXIT_OK;
    },
  },
  {
    words: ['security-groups', 'bind'],
    positionals: ['GROUP'],
    summary: 'bind a group to spaces and organisations (already bound ones stay bound)',
    options: BINDING_OPTIONS,
    notes: [
      'example:',
      '  egressctl security-groups bind public_networks_egress --space SPACE_GUID --lifecycle staging',
    ],
    run: async (invocation, context) => {
      const targets = bindingTargets(invocation);
      const api = await context.api();
      const group = await findSecurityGroup(api, invocation.positionals[0] ?? '');
      for (const { relationship, guids } of targets) {
        await api.request('POST', `${SECURITY_GROUPS}/${group.guid}/relationships/${relationship}`, {
          body: { data: guids.map((guid) => ({ guid })) },
        });
      }
      return showAfterWrite(context, api, group.guid);
    },
  },
  {
    words: ['security-groups', 'unbind'],
    positionals: ['GROUP'],
    summary: 'unbind a group from spaces and organisations (one not bound is refused)',
    options: BINDING_OPTIONS,
    run: async (invocation, context) => {
      const targets = bindingTargets(invocation);
      const api = await context.api();
      const group = await findSecurityGroup(api, invocation.positionals[0] ?? '');
      for (const { relationship, guids } of targets) {
        for (const guid of guids) {
          await api.request(
            'DELETE',
            `${SECURITY_GROUPS}/${group.guid}/relationships/${relationship}/${encodeURIComponent(guid)}`,
          );
        }
      }
      return showAfterWrite(context, api, group.guid);
    },
  },
  globalCommand(true),
  globalCommand(false),
  {
    words: ['security-groups', 'delete'],
    positionals: ['GROUP'],
    summary: 'delete a security group',
    options: {},
    run: async (invocation, context) => {
      const api = await context.api();
      const group = await findSecurityGroup(api, invocation.positionals[0] ?? '');
      await api.request('DELETE', `${SECURITY_GROUPS}/${group.guid}`);
      if (context.json) printJson(context.io, { deleted: { guid: group.guid, name: group.name } });
      else context.io.stdout(`deleted security group ${group.name} (${group.guid})\n`);
      return EXIT_OK;
    },
  },
];
