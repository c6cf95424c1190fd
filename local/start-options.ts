// `npm start`'s flags and environment, parsed without side effects (reading the cells file and
// bundling the agent happen in start.ts). Flags: --in-memory (throwaway data). Environment: PORT
// (default 8080), EGRESS_DYNAMODB_PORT (default: a free one), EGRESS_LOCAL_CELLS (JSON file of local
// cells; default: one dry-run cell), EGRESS_RESYNC_SECONDS (periodic full sync; default: the
// association's 30 minutes), EGRESS_LOCAL_AGENT (in-process, the default, or process: the bundled
// agent as a fresh process per sync, as SSM runs it), EGRESS_JWKS_URL + EGRESS_JWT_ISSUER +
// EGRESS_JWT_AUDIENCE (use a real issuer instead of the local one). EGRESS_LOCAL_DIR is read by paths.ts.
import type { Environment, Parsed } from './command-line.js';

const KNOWN_FLAGS = ['--in-memory'];
const AGENT_MODES = ['in-process', 'process'] as const;

export type AgentMode = (typeof AGENT_MODES)[number];

export interface StartOptions {
  readonly inMemory: boolean;
  /** NaN for a PORT that is not a number: listening then fails with Node's message. */
  readonly port: number;
  /** 0 picks a free port. */
  readonly dynamodbPort: number;
  /** Undefined: one dry-run cell. */
  readonly cellsFile?: string;
  readonly agentMode: AgentMode;
  /** Undefined: local mode's default, the stack's schedule (a 0 or NaN value also falls back to it). */
  readonly resyncIntervalMs?: number;
  readonly jwt?: { readonly jwksUrl: string; readonly issuer: string; readonly audience: string };
}

const isAgentMode = (value: string): value is AgentMode => AGENT_MODES.some((mode) => mode === value);

export function parseStartOptions(argv: readonly string[], env: Environment): Parsed<StartOptions> {
  const flags = new Set(argv);
  const unknown = [...flags].filter((flag) => !KNOWN_FLAGS.includes(flag));
  if (unknown.length > 0) {
    return { ok: false, error: `unknown argument(s): ${unknown.join(' ')} (known: ${KNOWN_FLAGS.join(' ')})` };
  }
  const agentMode = env.EGRESS_LOCAL_AGENT ?? 'in-process';
  if (!isAgentMode(agentMode)) {
    return {
      ok: false,
      error: `EGRESS_LOCAL_AGENT must be "in-process" or "process", got ${JSON.stringify(agentMode)}`,
    };
  }
  const { EGRESS_LOCAL_CELLS: cellsFile, EGRESS_RESYNC_SECONDS: resyncSeconds, EGRESS_JWKS_URL: jwksUrl } = env;
  return {
    ok: true,
    options: {
      inMemory: flags.has('--in-memory'),
      port: Number(env.PORT ?? 8080),
      dynamodbPort: Number(env.EGRESS_DYNAMODB_PORT ?? 0),
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
