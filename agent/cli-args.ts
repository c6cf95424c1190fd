// The agent's command line: its commands, their options and checks. A new command is one more
// entry in AGENT_COMMANDS and one more member of AgentCommand.
import { hostname } from 'node:os';
import type { AgentMode } from './cell-agent.js';
import { normalizeCidr } from './cidr.js';
import { command, parseCommandLine, usageOf } from './command-line.js';
import { UsageError } from './errors.js';
import {
  DEFAULT_OVERLAY_CIDR,
  DEFAULT_UNKNOWN_SOURCES,
  isUnknownSources,
  UNKNOWN_SOURCES,
  type UnknownSources,
} from './plan.js';

/** `sync --policies FILE --containers FILE`: desired state from two files (tests, manual runs). */
export interface SyncFromFiles {
  readonly command: 'sync';
  readonly policies: string;
  readonly containers: string;
  readonly overlayCidr: string;
  readonly unknownSources: UnknownSources;
  readonly dryRun: boolean;
}

/** `sync --from-dynamodb …`: what SSM runs on a cell (see cli-sync-table.ts). */
export interface SyncFromTable {
  readonly command: 'sync --from-dynamodb';
  readonly table: string;
  readonly containers: string;
  readonly stateDir: string;
  readonly cellName: string;
  readonly minVersion: number;
  readonly overlayCidr: string;
  readonly unknownSources: UnknownSources;
  readonly mode: AgentMode;
  readonly netns: string | undefined;
}

export type AgentCommand = SyncFromFiles | SyncFromTable;

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** Cell and namespace names become process arguments (never a shell word); held to a safe alphabet anyway. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The overlay network as a normalized CIDR block, or a UsageError naming the flag. */
export function overlayCidrArgument(value: string): string {
  try {
    return normalizeCidr(value);
  } catch {
    throw new UsageError(
      `--overlay-cidr: must be an IPv4 CIDR block such as ${DEFAULT_OVERLAY_CIDR}, got ${JSON.stringify(value)}`,
    );
  }
}

/** What happens to overlay sources the containers file does not list, or a UsageError naming the flag. */
export function unknownSourcesArgument(value: string): UnknownSources {
  if (isUnknownSources(value)) return value;
  throw new UsageError(`--unknown-sources: must be ${UNKNOWN_SOURCES.join(' or ')}, got ${JSON.stringify(value)}`);
}

function safeName(flag: string, value: string): string {
  if (!SAFE_NAME.test(value)) {
    throw new UsageError(`--${flag}: must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A string option that must be given and not be empty. */
function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

const syncFromFiles = command({
  name: 'sync',
  usage: 'sync --policies FILE --containers FILE [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--dry-run]',
  options: {
    policies: { type: 'string' },
    containers: { type: 'string' },
    'overlay-cidr': { type: 'string', default: DEFAULT_OVERLAY_CIDR },
    'unknown-sources': { type: 'string', default: DEFAULT_UNKNOWN_SOURCES },
    'dry-run': { type: 'boolean', default: false },
  },
  build: (values): SyncFromFiles => {
    if (values.policies === undefined) throw new UsageError('--policies FILE is required');
    if (values.containers === undefined) throw new UsageError('--containers FILE is required');
    return {
      command: 'sync',
      policies: values.policies,
      containers: values.containers,
      overlayCidr: overlayCidrArgument(values['overlay-cidr']),
      unknownSources: unknownSourcesArgument(values['unknown-sources']),
      dryRun: values['dry-run'],
    };
  },
});

const syncFromTable = command({
  name: 'sync',
  form: 'from-dynamodb',
  usage:
    'sync --from-dynamodb --table NAME --containers FILE --state-dir DIR [--cell-name NAME] [--min-version N] [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--netns NS] [--dry-run | --render-only]',
  options: {
    'from-dynamodb': { type: 'boolean' },
    table: { type: 'string' },
    containers: { type: 'string' },
    'state-dir': { type: 'string' },
    'cell-name': { type: 'string' },
    'min-version': { type: 'string', default: '0' },
    'overlay-cidr': { type: 'string', default: DEFAULT_OVERLAY_CIDR },
    'unknown-sources': { type: 'string', default: DEFAULT_UNKNOWN_SOURCES },
    'dry-run': { type: 'boolean', default: false },
    'render-only': { type: 'boolean', default: false },
    netns: { type: 'string' },
  },
  build: (values): SyncFromTable => {
    const table = required('table', values.table);
    if (!TABLE_NAME.test(table)) throw new UsageError(`--table: not a DynamoDB table name: ${JSON.stringify(table)}`);
    const cellName = safeName('cell-name', values['cell-name'] ?? hostname());
    const minVersion = values['min-version'];
    if (!/^\d{1,15}$/.test(minVersion)) {
      throw new UsageError(`--min-version: must be a non-negative integer, got ${JSON.stringify(minVersion)}`);
    }
    const overlayCidr = overlayCidrArgument(values['overlay-cidr']);
    const unknownSources = unknownSourcesArgument(values['unknown-sources']);
    const netns = values.netns === undefined ? undefined : safeName('netns', values.netns);
    if (values['dry-run'] && values['render-only']) {
      throw new UsageError('--dry-run and --render-only exclude each other');
    }
    return {
      command: 'sync --from-dynamodb',
      table,
      containers: required('containers', values.containers),
      stateDir: required('state-dir', values['state-dir']),
      cellName,
      minVersion: Number(minVersion),
      overlayCidr,
      unknownSources,
      mode: values['render-only'] ? 'render-only' : values['dry-run'] ? 'dry-run' : 'apply',
      netns,
    };
  },
});

/** Usage lines follow this order. */
const AGENT_COMMANDS = [syncFromFiles, syncFromTable] as const;

export const USAGE = usageOf('agent', AGENT_COMMANDS);

export function parseAgentArgs(argv: readonly string[]): AgentCommand {
  return parseCommandLine<AgentCommand>(AGENT_COMMANDS, argv);
}
