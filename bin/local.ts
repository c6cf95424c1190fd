// `npm start`: the whole system on this machine. Flags: --in-memory (throwaway data).
// Environment: PORT (default 8080), EGRESS_LOCAL_DIR (default ./.local), EGRESS_DYNAMODB_PORT,
// EGRESS_LOCAL_CELLS (JSON file of local cells; default: one dry-run cell), EGRESS_RESYNC_SECONDS
// (periodic full sync, default 1800), EGRESS_LOCAL_AGENT (in-process, the default, or process: the
// bundled agent as a fresh process per sync, as SSM runs it), EGRESS_JWKS_URL + EGRESS_JWT_ISSUER + EGRESS_JWT_AUDIENCE
// (use a real issuer instead of the local one).
import { join } from 'node:path';
import { bundleAgent } from '../bundling/agent-bundle.js';
import { inProcessAgentRunner } from '../local/cells/agent-in-process.js';
import { agentProcessRunner } from '../local/cells/agent-process.js';
import { dryRunCell } from '../local/cells/dry-run-cell.js';
import { readLocalCells } from '../local/cells/local-cells.js';
import type { AgentRunner } from '../local/cells/local-dispatcher.js';
import { startLocalMode } from '../local/local-mode.js';
import { localStateDir } from '../local/paths.js';
import { claimPidFile } from '../local/pid-file.js';

// Local mode runs on the machine's Node 20 on purpose (Lambda runs 22); the SDK's notice about
// future Node versions is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((arg) => arg !== '--in-memory');
if (unknown.length > 0) {
  console.error(`error: unknown argument(s): ${unknown.join(' ')} (known: --in-memory)`);
  process.exit(2);
}

const stateDir = localStateDir();
const port = Number(process.env.PORT ?? 8080);
const jwksUrl = process.env.EGRESS_JWKS_URL;
const cellsFile = process.env.EGRESS_LOCAL_CELLS;
let cells: ReturnType<typeof readLocalCells>;
let agentFile: string;
try {
  cells = cellsFile ? readLocalCells(cellsFile) : [dryRunCell(stateDir)];
  agentFile = await bundleAgent(join(stateDir, 'agent'));
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const tableName = 'dynamic-egress';
const agentMode = process.env.EGRESS_LOCAL_AGENT ?? 'in-process';
if (agentMode !== 'process' && agentMode !== 'in-process') {
  console.error(`error: EGRESS_LOCAL_AGENT must be "in-process" or "process", got ${JSON.stringify(agentMode)}`);
  process.exit(2);
}
const resyncSeconds = Number(process.env.EGRESS_RESYNC_SECONDS ?? 1800);

const releasePidFile = claimPidFile(stateDir);
// Set once DynamoDB is up: the agent runner needs its endpoint (process) or client (in-process).
let runAgent: AgentRunner = async () => ({ ok: false, output: 'DynamoDB is not up yet' });
const local = await startLocalMode({
  tableName,
  propagation: {
    cells,
    runAgent: (cell, minVersion) => runAgent(cell, minVersion),
    resyncIntervalMs: resyncSeconds * 1000,
  },
  stateDir,
  port,
  inMemory: args.has('--in-memory'),
  dynamodbPort: Number(process.env.EGRESS_DYNAMODB_PORT ?? 0),
  ...(jwksUrl
    ? {
        jwt: {
          jwksUrl,
          issuer: process.env.EGRESS_JWT_ISSUER ?? '',
          audience: process.env.EGRESS_JWT_AUDIENCE ?? '',
        },
      }
    : {}),
  onDynamoDbReady: (endpoint, dynamodb) => {
    const stateRoot = join(stateDir, 'cells');
    runAgent =
      agentMode === 'process'
        ? agentProcessRunner({ agentFile, tableName, dynamodbEndpoint: endpoint, stateRoot })
        : inProcessAgentRunner({ dynamodb, tableName, stateRoot });
  },
}).catch((error: unknown) => {
  releasePidFile();
  console.error(`error: local mode did not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
local.dynamodbLocal?.process.pid && releasePidFile.record(local.dynamodbLocal.process.pid);

console.log(`dynamic-egress local mode
  API:       ${local.url}/networking/v1/external
  DynamoDB:  ${local.dynamodbEndpoint} (table ${local.tableName}${args.has('--in-memory') ? ', in memory' : `, data in ${stateDir}/dynamodb`})
  Token:     export TOKEN="$(npm run --silent token)"
  Try:       curl -H "Authorization: Bearer $TOKEN" ${local.url}/networking/v1/external/destinations
  Cells:     ${cells.map((cell) => (cell.netns ? `${cell.name} (netns ${cell.netns})` : `${cell.name} (dry run: logs the rules it would apply)`)).join(', ')}
             GET ${local.url}/networking/v1/external/cells shows the version each enforcing cell applied
             (a dry-run cell enforces nothing, so it is not listed; set EGRESS_LOCAL_CELLS for real cells)
Ctrl-C stops everything.`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping`);
  void local.stop().finally(() => {
    releasePidFile();
    process.exit(0);
  });
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
