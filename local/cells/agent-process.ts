// Runs the bundled agent for one local cell, as SSM's shell step does on a real cell: a fresh
// process reading desired state from the table and programming the cell's network namespace.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_VERIFY, type Verify } from '../../agent/recorded-sync.js';
import { describeSync, readSyncedLine } from '../../agent/sync-summary.js';
import { formatDenyNetworks } from '../../core/plan/deny-networks.js';
import { DEFAULT_OVERLAY_CIDR, type DenyNetworks } from '../../core/plan/plan.js';
import { LOCAL_CLIENT_CONFIG } from '../dynamodb-local.js';
import type { CellProxies } from './cell-proxies.js';
import type { LocalCell } from './local-cells.js';
import type { AgentRunner, AgentRunResult } from './local-dispatcher.js';

export interface AgentProcessOptions {
  /** The bundled agent (see agent-bundle.ts). */
  readonly agentFile: string;
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  /** Each cell keeps its applied state in <stateRoot>/<cell name>, as /var/lib/dynamic-egress on a cell. */
  readonly stateRoot: string;
  /** @default DEFAULT_OVERLAY_CIDR (core/plan/plan.ts) */
  readonly overlayCidr?: string;
  /** @default 60 s */
  readonly timeoutMs?: number;
  /** The agent's --deny-networks. @default none */
  readonly denyNetworks?: DenyNetworks;
  /** Each namespace cell's proxy (cell-proxies.ts): its `--proxy-*` flags; omitted, none. */
  readonly proxies?: Pick<CellProxies, 'argsFor'>;
}

export function agentProcessRunner(options: AgentProcessOptions): AgentRunner {
  return (cell: LocalCell, minVersion: number, verify: Verify = DEFAULT_VERIFY) =>
    new Promise<AgentRunResult>((resolve) => {
      const agentArgs = [
        options.agentFile,
        'sync',
        '--from-dynamodb',
        '--table',
        options.tableName,
        '--containers',
        cell.containers,
        '--state-dir',
        join(options.stateRoot, cell.name),
        '--cell-name',
        cell.name,
        '--min-version',
        String(minVersion),
        '--verify',
        verify,
        '--overlay-cidr',
        options.overlayCidr ?? DEFAULT_OVERLAY_CIDR,
        ...(options.denyNetworks === undefined ? [] : ['--deny-networks', formatDenyNetworks(options.denyNetworks)]),
        // The agent stays on the host (where DynamoDB Local listens) and programs the cell's namespace.
        ...(cell.netns === undefined ? ['--render-only'] : ['--netns', cell.netns]),
        ...(options.proxies?.argsFor(cell) ?? []),
      ];
      const child = spawn(process.execPath, agentArgs, {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint,
          AWS_REGION: LOCAL_CLIENT_CONFIG.region,
          AWS_ACCESS_KEY_ID: LOCAL_CLIENT_CONFIG.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CLIENT_CONFIG.credentials.secretAccessKey,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.on('error', (error) => {
        clearTimeout(timer);
        resolve({ ok: false, output: error.message });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code !== 0) {
          resolve({ ok: false, output: stderr.trim() || `exit code ${code}` });
          return;
        }
        resolve(parseSummary(stdout, cell.netns === undefined));
      });
    });
}

/** The agent ends with its summary log line; a render-only run prints the ruleset before it. */
function parseSummary(stdout: string, renderOnly: boolean): AgentRunResult {
  const lines = stdout.trimEnd().split('\n');
  const last = lines.at(-1) ?? '';
  const summary = readSyncedLine(last);
  if (summary === undefined) return { ok: true, output: last };
  const detail = renderOnly ? `would apply:\n${lines.slice(0, -1).join('\n')}` : describeSync(summary);
  return { ok: true, version: summary.version, output: detail };
}
