// `egressctl policies list|create|delete`: CF's v1 egress policies. The API has no update: a
// policy is its source and destination, so a change is a delete and a create.
import { API_PREFIX } from '../../lambdas/api/routes.js';
import { decodeAnswer, destinationListSchema, type Policy, policyListSchema } from '../answers.js';
import type { CommandSpec, Invocation } from '../command-table.js';
import { type CtlContext, printJson } from '../context.js';
import { CommandFailed, UsageError } from '../errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { hostsText, ipsText, optionalColumns, portsText } from '../format.js';
import { bulkItems, readJsonFile } from '../json-file.js';
import { renderTable } from '../table.js';

const POLICIES = `${API_PREFIX}/egress_policies`;

function printPolicies(context: CtlContext, answer: unknown): void {
  if (context.json) {
    printJson(context.io, answer);
    return;
  }
  const { egress_policies } = decodeAnswer(policyListSchema, answer, 'egress policies');
  context.io.stdout(policyTable(egress_policies));
}

export function policyTable(policies: readonly Policy[]): string {
  const hosts = optionalColumns(policies, [
    { header: 'HOSTS', text: (policy: Policy) => hostsText(policy.destination) },
  ]);
  const rows = policies.map((policy) => [
    policy.id,
    policy.source.type,
    policy.source.id,
    policy.app_lifecycle ?? 'all',
    policy.destination.name,
    policy.destination.protocol,
    ipsText(policy.destination),
    ...hosts.cells(policy),
    portsText(policy.destination),
  ]);
  return renderTable(
    ['ID', 'SOURCE', 'SOURCE ID', 'LIFECYCLE', 'DESTINATION', 'PROTOCOL', 'IPS', ...hosts.headers, 'PORTS'],
    rows,
  );
}

/** The destination id a create names: `--destination ID`, or the id of `--destination-name NAME`. */
async function destinationId(invocation: Invocation, context: CtlContext): Promise<string> {
  const id = invocation.string('destination');
  const name = invocation.string('destination-name');
  if ((id === undefined) === (name === undefined)) {
    throw new UsageError('policies create: give one of --destination ID and --destination-name NAME');
  }
  if (id !== undefined) return id;
  const api = await context.api();
  const answer = await api.request('GET', `${API_PREFIX}/destinations`, {
    query: new URLSearchParams({ name: name ?? '' }),
  });
  const [found] = decodeAnswer(destinationListSchema, answer, 'destinations').destinations;
  if (found === undefined) {
    throw new CommandFailed(`no destination named ${JSON.stringify(name)}`, 'create it: egressctl destinations create');
  }
  return found.id;
}

const FLAG_NAMES = ['source-type', 'source-id', 'destination', 'destination-name', 'lifecycle'];

export const POLICY_COMMANDS: readonly CommandSpec<CtlContext>[] = [
  {
    words: ['policies', 'list'],
    summary: 'list egress policies (all, or filtered by source or destination)',
    options: {
      'source-id': { type: 'string', value: 'GUID', description: 'only policies from this source', multiple: true },
      'source-type': { type: 'string', value: 'app|space', description: 'only this source type', multiple: true },
      'destination-id': { type: 'string', value: 'ID', description: 'only to this destination', multiple: true },
      'destination-name': { type: 'string', value: 'NAME', description: 'only to this destination', multiple: true },
    },
    run: async (invocation, context) => {
      const query = new URLSearchParams();
      const filters: Record<string, string> = {
        'source-id': 'SourceIDs',
        'source-type': 'SourceTypes',
        'destination-id': 'DestinationIDs',
        'destination-name': 'DestinationNames',
      };
      for (const [flag, parameter] of Object.entries(filters)) {
        const values = invocation.strings(flag);
        if (values.length > 0) query.set(parameter, values.join(','));
      }
      const api = await context.api();
      printPolicies(context, await api.request('GET', POLICIES, { query }));
      return EXIT_OK;
    },
  },
  {
    words: ['policies', 'create'],
    summary: 'let an app, a space or every app reach a destination (from flags or a JSON file)',
    options: {
      'source-type': {
        type: 'string',
        value: 'app|space|default',
        description: 'what the source is',
        defaultText: 'app',
      },
      'source-id': { type: 'string', value: 'GUID', description: "the app's or space's GUID (none for default)" },
      destination: { type: 'string', value: 'ID', description: 'the destination by id' },
      'destination-name': { type: 'string', value: 'NAME', description: 'the destination by name' },
      lifecycle: {
        type: 'string',
        value: 'running|staging|all',
        description: 'which workloads it is for',
        defaultText: 'all',
      },
      file: {
        type: 'string',
        value: 'FILE',
        description: 'the policies as JSON instead: {"egress_policies": [...]}, an array or one object (- for stdin)',
      },
    },
    notes: [
      'examples:',
      '  egressctl policies create --source-id 887757be-5eda-48ce-b427-79dcc0705e91 --destination-name MySQL',
      '  egressctl policies create --source-type space --source-id SPACE_GUID --destination DEST_ID --lifecycle running',
      '',
      'Creating a policy that exists returns it (exit 0) and creates no duplicate.',
    ],
    run: async (invocation, context) => {
      const file = invocation.string('file');
      let items: unknown[];
      if (file !== undefined) {
        if (FLAG_NAMES.some((name) => invocation.string(name) !== undefined)) {
          throw new UsageError('give --file or policy flags, not both');
        }
        items = bulkItems(readJsonFile(file), 'egress_policies', file);
      } else {
        const sourceType = invocation.string('source-type') ?? 'app';
        const sourceId = invocation.string('source-id');
        if (sourceId === undefined && sourceType !== 'default') {
          throw new UsageError(`policies create: --source-id is required for a ${sourceType} source`);
        }
        const lifecycle = invocation.string('lifecycle');
        items = [
          {
            source: { type: sourceType, ...(sourceId === undefined ? {} : { id: sourceId }) },
            destination: { id: await destinationId(invocation, context) },
            ...(lifecycle === undefined ? {} : { app_lifecycle: lifecycle }),
          },
        ];
      }
      const api = await context.api();
      printPolicies(context, await api.request('POST', POLICIES, { body: { egress_policies: items } }));
      return EXIT_OK;
    },
  },
  {
    words: ['policies', 'delete'],
    positionals: ['ID'],
    summary: 'delete an egress policy',
    options: {},
    run: async (invocation, context) => {
      const api = await context.api();
      const id = invocation.positionals[0] ?? '';
      printPolicies(context, await api.request('DELETE', `${POLICIES}/${encodeURIComponent(id)}`));
      return EXIT_OK;
    },
  },
];
