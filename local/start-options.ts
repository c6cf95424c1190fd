// `npm start`'s flags and environment, parsed without side effects (reading the cells file and
// bundling the agent happen in start.ts). START_COMMAND_LINE lists them all with their defaults and
// is also `npm start -- --help`. EGRESS_LOCAL_DIR is read by paths.ts.

import { parseDenyNetworks } from '../core/plan/deny-networks.js';
import type { DenyNetworks } from '../core/plan/plan.js';
import { DEFAULT_SOURCE_IDS, parseApiSettings, SOURCE_IDS_ENV } from '../lambdas/api/settings.js';
import { SCHEDULE_DEFAULTS } from '../lambdas/fanout/run-limits.js';
import { type CommandLineSpec, type Environment, helpText, type Parsed, readCommandLine } from './command-line.js';

const AGENT_MODES = ['in-process', 'process'] as const;
const DEFAULT_PORT = 8080;

export type AgentMode = (typeof AGENT_MODES)[number];

export interface StartOptions {
  readonly inMemory: boolean;
  /** 0 picks a free port. */
  readonly port: number;
  /** 0 picks a free port. */
  readonly dynamodbPort: number;
  /** Undefined: one dry-run cell. */
  readonly cellsFile?: string;
  readonly agentMode: AgentMode;
  /** Undefined: local mode's default, the stack's schedule (a 0 value also falls back to it). */
  readonly resyncIntervalMs?: number;
  readonly jwt?: { readonly jwksUrl: string; readonly issuer: string; readonly audience: string };
  /** The cells' operator deny networks; undefined: none. */
  readonly denyNetworks?: DenyNetworks;
}

export const START_COMMAND_LINE: CommandLineSpec = {
  usage: 'npm start [-- --in-memory]',
  summary:
    'Runs the whole system on this machine: DynamoDB Local, the API on http://127.0.0.1:PORT (the Lambda\n' +
    'handlers behind a local JWT authorizer) and the propagation loop to the local cells. Ctrl-C or\n' +
    'SIGTERM stops everything. Get a token with `npm run --silent token`.',
  options: {
    'in-memory': {
      description: 'keep nothing: DynamoDB Local in memory, gone at the end',
      default: 'off, data kept in the state folder',
    },
  },
  environment: {
    PORT: { description: 'the API’s port on 127.0.0.1; 0 picks a free one', default: `${DEFAULT_PORT}` },
    EGRESS_DYNAMODB_PORT: { description: 'DynamoDB Local’s port; 0 picks a free one', default: 'a free one' },
    EGRESS_LOCAL_DIR: {
      description: 'the state folder: issuer key, database, cell state',
      default: '.local in the project',
    },
    EGRESS_LOCAL_CELLS: {
      description: 'JSON file of local cells [{"name", "netns", "containers", "log"?}]',
      default: 'one dry-run cell that only logs its rules',
    },
    EGRESS_LOCAL_AGENT: {
      description: 'in-process, or process: the bundled agent as a fresh process per sync, as SSM runs it',
      default: 'in-process',
    },
    EGRESS_RESYNC_SECONDS: {
      description: 'the periodic full sync of every cell',
      default: `${SCHEDULE_DEFAULTS.resyncMinutes * 60}, as on AWS`,
    },
    EGRESS_DENY_NETWORKS: {
      description:
        'operator deny networks every local cell enforces before any allow: {"always":[CIDR...],"running":[...],"staging":[...]}',
      default: 'none',
    },
    EGRESS_JWKS_URL: { description: 'verify tokens of a real issuer with this JWKS', default: 'the local issuer' },
    EGRESS_JWT_ISSUER: { description: 'the iss such tokens must have (with EGRESS_JWKS_URL)', default: 'empty' },
    EGRESS_JWT_AUDIENCE: { description: 'the aud such tokens must have (with EGRESS_JWKS_URL)', default: 'empty' },
    // Read by the API handlers when local mode makes them, as in Lambda; checked by parseStartOptions.
    [SOURCE_IDS_ENV]: {
      description: 'policy source ids the API takes: guid (CF app/space GUIDs) or identifier (letters, digits, ._:-)',
      default: DEFAULT_SOURCE_IDS,
    },
  },
};

export const startHelp = (): string => helpText(START_COMMAND_LINE);

const isAgentMode = (value: string): value is AgentMode => AGENT_MODES.some((mode) => mode === value);

/** A port from the environment: unset or empty gives the default; anything but 0-65535 is refused. */
function portOf(env: Environment, name: string, fallback: number): number | string {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (/^\d{1,5}$/.test(value) && Number(value) <= 65535) return Number(value);
  return `${name}: ${JSON.stringify(value)} is not a valid port (expected a whole number 0-65535; 0 picks a free one)`;
}

export function parseStartOptions(argv: readonly string[], env: Environment): Parsed<StartOptions> {
  const read = readCommandLine(START_COMMAND_LINE, argv);
  if (!read.ok) return read;
  const agentMode = env.EGRESS_LOCAL_AGENT ?? 'in-process';
  if (!isAgentMode(agentMode)) {
    return {
      ok: false,
      error: `EGRESS_LOCAL_AGENT must be "in-process" or "process", got ${JSON.stringify(agentMode)}`,
    };
  }
  const port = portOf(env, 'PORT', DEFAULT_PORT);
  if (typeof port === 'string') return { ok: false, error: port };
  const dynamodbPort = portOf(env, 'EGRESS_DYNAMODB_PORT', 0);
  if (typeof dynamodbPort === 'string') return { ok: false, error: dynamodbPort };
  const api = parseApiSettings(env);
  if (!api.ok) return { ok: false, error: api.error };
  const { EGRESS_LOCAL_CELLS: cellsFile, EGRESS_RESYNC_SECONDS: resyncSeconds, EGRESS_JWKS_URL: jwksUrl } = env;
  if (resyncSeconds !== undefined && resyncSeconds !== '' && !/^\d+(\.\d+)?$/.test(resyncSeconds)) {
    return {
      ok: false,
      error: `EGRESS_RESYNC_SECONDS: ${JSON.stringify(resyncSeconds)} is not a valid interval (expected seconds, e.g. 60; 0 keeps the default)`,
    };
  }
  let denyNetworks: DenyNetworks | undefined;
  if (env.EGRESS_DENY_NETWORKS) {
    try {
      denyNetworks = parseDenyNetworks(env.EGRESS_DENY_NETWORKS);
    } catch (error) {
      return { ok: false, error: `EGRESS_DENY_NETWORKS: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  return {
    ok: true,
    options: {
      inMemory: read.options.has('in-memory'),
      ...(denyNetworks === undefined ? {} : { denyNetworks }),
      port,
      dynamodbPort,
      agentMode,
      // Empty values count as unset, as they always have.
      ...(cellsFile ? { cellsFile } : {}),
      ...(resyncSeconds === undefined ? {} : { resyncIntervalMs: Number(resyncSeconds) * 1000 }),
      ...(jwksUrl
        ? { jwt: { jwksUrl, issuer: env.EGRESS_JWT_ISSUER ?? '', audience: env.EGRESS_JWT_AUDIENCE ?? '' } }
        : {}),
    },
  };
}
