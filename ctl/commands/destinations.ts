// `egressctl destinations list|create|update|delete`: CF's v1 destinations.
import { API_PREFIX } from '../../lambdas/api/routes.js';
import { type Destination, decodeAnswer, destinationListSchema } from '../answers.js';
import type { CommandSpec, Invocation, OptionSpec } from '../command-table.js';
import { type CtlContext, printJson } from '../context.js';
import { CommandFailed, UsageError } from '../errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { hostsText, ipsText, optionalColumns, portsText, routesText } from '../format.js';
import { bulkItems, readJsonFile } from '../json-file.js';
import { renderTable } from '../table.js';

const DESTINATIONS = `${API_PREFIX}/destinations`;

/** The fields a destination is made of, as flags; the API checks every value. */
const FIELD_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  name: { type: 'string', value: 'NAME', description: 'unique name' },
  description: { type: 'string', value: 'TEXT', description: 'free text' },
  ip: { type: 'string', value: 'A[-B]', description: 'one IPv4 address or range, e.g. 10.0.0.1-10.0.0.9' },
  host: {
    type: 'string',
    value: 'NAME',
    description: 'a host name, e.g. api.example.com (*.example.com for http, https); replaces all on update',
    multiple: true,
  },
  port: { type: 'string', value: 'P[-Q]', description: 'one port or range (tcp, udp, http, https)' },
  protocol: { type: 'string', value: 'tcp|udp|icmp|http|https', description: 'protocol' },
  'icmp-type': { type: 'string', value: 'T', description: 'icmp type, -1 any' },
  'icmp-code': { type: 'string', value: 'C', description: 'icmp code, -1 any' },
  file: {
    type: 'string',
    value: 'FILE',
    description:
      'the destinations as JSON instead of flags: {"destinations": [...]}, an array or one object (- for stdin)',
  },
};

function integerFlag(invocation: Invocation, name: string): number | undefined {
  const text = invocation.string(name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--${name}: ${JSON.stringify(text)} is not a whole number`);
  return Number(text);
}

function portRange(text: string): { start: number; end: number } {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!match) throw new UsageError(`--port: ${JSON.stringify(text)} is not a port or a range (e.g. 443 or 8000-9000)`);
  const start = Number(match[1]);
  return { start, end: match[2] === undefined ? start : Number(match[2]) };
}

function ipRange(text: string): { start: string; end: string } {
  const [start = '', end = start] = text.trim().split('-');
  return { start: start.trim(), end: end.trim() };
}

/** The destination fields given as flags (only those given). */
function fieldsFromFlags(invocation: Invocation): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const name = invocation.string('name');
  const description = invocation.string('description');
  const ip = invocation.string('ip');
  const port = invocation.string('port');
  const protocol = invocation.string('protocol');
  const icmpType = integerFlag(invocation, 'icmp-type');
  const icmpCode = integerFlag(invocation, 'icmp-code');
  if (name !== undefined) fields.name = name;
  if (description !== undefined) fields.description = description;
  if (ip !== undefined) fields.ips = [ipRange(ip)];
  if (invocation.strings('host').length > 0) fields.hosts = invocation.strings('host');
  if (port !== undefined) fields.ports = [portRange(port)];
  if (protocol !== undefined) fields.protocol = protocol;
  if (icmpType !== undefined) fields.icmp_type = icmpType;
  if (icmpCode !== undefined) fields.icmp_code = icmpCode;
  return fields;
}

const hasFieldFlags = (invocation: Invocation): boolean =>
  invocation.strings('host').length > 0 ||
  Object.keys(FIELD_OPTIONS).some(
    (name) => name !== 'file' && name !== 'host' && invocation.string(name) !== undefined,
  );

function printDestinations(context: CtlContext, answer: unknown): void {
  if (context.json) {
    printJson(context.io, answer);
    return;
  }
  const { destinations } = decodeAnswer(destinationListSchema, answer, 'destinations');
  context.io.stdout(destinationTable(destinations));
}

export function destinationTable(destinations: readonly Destination[]): string {
  const hosts = optionalColumns(destinations, [{ header: 'HOSTS', text: hostsText }]);
  const routes = optionalColumns(destinations, [{ header: 'ROUTES', text: routesText }]);
  const rows = destinations.map((destination) => [
    destination.id,
    destination.name,
    destination.protocol,
    ipsText(destination),
    ...hosts.cells(destination),
    portsText(destination),
    ...routes.cells(destination),
    destination.description ?? '',
  ]);
  return renderTable(
    ['ID', 'NAME', 'PROTOCOL', 'IPS', ...hosts.headers, 'PORTS', ...routes.headers, 'DESCRIPTION'],
    rows,
  );
}

/** The stored destination `id`, or a CommandFailed saying there is none. */
async function existing(context: CtlContext, id: string): Promise<Destination> {
  const api = await context.api();
  const answer = await api.request('GET', DESTINATIONS, { query: new URLSearchParams({ id }) });
  const [found] = decodeAnswer(destinationListSchema, answer, 'destinations').destinations;
  if (found === undefined)
    throw new CommandFailed(`no destination with id ${id}`, 'list them: egressctl destinations list');
  return found;
}

/** An update from flags: the stored destination with the given fields replaced (PUT replaces it whole). */
function merged(stored: Destination, fields: Record<string, unknown>): Record<string, unknown> {
  const { id, name, description, ips, hosts, ports, protocol, icmp_type, icmp_code, routes } = stored;
  const next: Record<string, unknown> = {
    id,
    name,
    description,
    ips,
    hosts,
    ports,
    protocol,
    icmp_type,
    icmp_code,
    routes,
    ...fields,
  };
  // Fields of the other protocol family would be refused: a change to icmp drops the ports and
  // hosts, and back; routes are http's only.
  if (next.protocol === 'icmp') {
    next.ports = [];
    delete next.hosts;
  } else {
    delete next.icmp_type;
    delete next.icmp_code;
  }
  if (next.protocol !== 'http') delete next.routes;
  for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
  return next;
}

export const DESTINATION_COMMANDS: readonly CommandSpec<CtlContext>[] = [
  {
    words: ['destinations', 'list'],
    summary: 'list destinations (all, or by name or id)',
    options: {
      name: { type: 'string', value: 'NAME', description: 'only this name', multiple: true },
      id: { type: 'string', value: 'ID', description: 'only this id', multiple: true },
    },
    run: async (invocation, context) => {
      const query = new URLSearchParams();
      if (invocation.strings('name').length > 0) query.set('name', invocation.strings('name').join(','));
      if (invocation.strings('id').length > 0) query.set('id', invocation.strings('id').join(','));
      const api = await context.api();
      printDestinations(context, await api.request('GET', DESTINATIONS, { query }));
      return EXIT_OK;
    },
  },
  {
    words: ['destinations', 'create'],
    summary: 'create a destination from flags, or destinations from a JSON file',
    options: FIELD_OPTIONS,
    notes: [
      'examples:',
      '  egressctl destinations create --name MySQL --ip 23.96.35.235 --port 3306 --protocol tcp',
      '  egressctl destinations create --name api --host api.example.com --host *.example.org --port 443 --protocol https',
      '  egressctl destinations create --file destinations.json',
    ],
    run: async (invocation, context) => {
      const file = invocation.string('file');
      if (file !== undefined && hasFieldFlags(invocation)) throw new UsageError('give --file or field flags, not both');
      const items =
        file === undefined ? [fieldsFromFlags(invocation)] : bulkItems(readJsonFile(file), 'destinations', file);
      const api = await context.api();
      printDestinations(context, await api.request('POST', DESTINATIONS, { body: { destinations: items } }));
      return EXIT_OK;
    },
  },
  {
    words: ['destinations', 'update'],
    positionals: ['[ID]'],
    summary: 'change a destination: the flags given replace those fields (or PUT a JSON file as it is)',
    options: FIELD_OPTIONS,
    notes: [
      'examples:',
      '  egressctl destinations update 5c7f… --ip 216.58.195.78',
      '  egressctl destinations update --file destinations.json   # each with its "id"',
    ],
    run: async (invocation, context) => {
      const file = invocation.string('file');
      const [id] = invocation.positionals;
      let items: unknown[];
      if (file !== undefined) {
        if (id !== undefined || hasFieldFlags(invocation))
          throw new UsageError('give --file alone, or an ID and field flags');
        items = bulkItems(readJsonFile(file), 'destinations', file);
      } else {
        if (id === undefined) throw new UsageError('destinations update: give the ID to change, or --file FILE');
        if (!hasFieldFlags(invocation)) throw new UsageError('destinations update: no field to change (e.g. --ip A)');
        items = [merged(await existing(context, id), fieldsFromFlags(invocation))];
      }
      const api = await context.api();
      printDestinations(context, await api.request('PUT', DESTINATIONS, { body: { destinations: items } }));
      return EXIT_OK;
    },
  },
  {
    words: ['destinations', 'delete'],
    positionals: ['ID'],
    summary: 'delete a destination (no policy may use it)',
    options: {},
    run: async (invocation, context) => {
      const api = await context.api();
      const id = invocation.positionals[0] ?? '';
      printDestinations(context, await api.request('DELETE', `${DESTINATIONS}/${encodeURIComponent(id)}`));
      return EXIT_OK;
    },
  },
];
