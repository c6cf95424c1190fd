// `npm start`: the whole system on this machine (options in start-options.ts). Resolves with the
// exit code: 2 for a bad command line, environment or cells file, 1 when local mode does not start,
// 0 once SIGINT or SIGTERM has stopped everything.
import { join } from 'node:path';
import { bundleAgent } from '../bundling/agent-bundle.js';
import { DEFAULT_TABLE_NAME } from '../core/store/table-definition.js';
import { inProcessAgentRunner } from './cells/agent-in-process.js';
import { agentProcessRunner } from './cells/agent-process.js';
import { dryRunCell } from './cells/dry-run-cell.js';
import { type LocalCell, readLocalCells } from './cells/local-cells.js';
import type { AgentRunner } from './cells/local-dispatcher.js';
import { type Environment, EXIT_USAGE } from './command-line.js';
import { type LocalMode, startLocalMode } from './local-mode.js';
import { localStateDir } from './paths.js';
import { claimPidFile } from './pid-file.js';
import { startBanner } from './start-banner.js';
import { parseStartOptions } from './start-options.js';

const EXIT_STOPPED = 0;
const EXIT_START_FAILED = 1;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function runLocalMode(argv: readonly string[], env: Environment): Promise<number> {
  const parsed = parseStartOptions(argv, env);
  if (!parsed.ok) {
    console.error(`error: ${parsed.error}`);
    return EXIT_USAGE;
  }
  const options = parsed.options;
  const stateDir = localStateDir(env);
  let cells: LocalCell[];
  let agentFile: string;
  try {
    cells = options.cellsFile ? readLocalCells(options.cellsFile) : [dryRunCell(stateDir)];
    agentFile = await bundleAgent(join(stateDir, 'agent'));
  } catch (error) {
    console.error(`error: ${messageOf(error)}`);
    return EXIT_USAGE;
  }

  const releasePidFile = claimPidFile(stateDir);
  // Set once DynamoDB is up: the agent runner needs its endpoint (process) or client (in-process).
  let runAgent: AgentRunner = async () => ({ ok: false, output: 'DynamoDB is not up yet' });
  const tableName = DEFAULT_TABLE_NAME;
  let local: LocalMode;
  try {
    local = await startLocalMode({
      tableName,
      propagation: {
        cells,
        runAgent: (cell, minVersion) => runAgent(cell, minVersion),
        ...(options.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: options.resyncIntervalMs }),
      },
      stateDir,
      port: options.port,
      inMemory: options.inMemory,
      dynamodbPort: options.dynamodbPort,
      ...(options.jwt ? { jwt: options.jwt } : {}),
      onDynamoDbReady: (endpoint, dynamodb) => {
        const stateRoot = join(stateDir, 'cells');
        runAgent =
          options.agentMode === 'process'
            ? agentProcessRunner({ agentFile, tableName, dynamodbEndpoint: endpoint, stateRoot })
            : inProcessAgentRunner({ dynamodb, tableName, stateRoot });
      },
    });
  } catch (error) {
    releasePidFile();
    console.error(`error: local mode did not start: ${messageOf(error)}`);
    return EXIT_START_FAILED;
  }
  if (local.dynamodbLocal?.process.pid) releasePidFile.record(local.dynamodbLocal.process.pid);

  const { url, dynamodbEndpoint } = local;
  console.log(startBanner({ url, dynamodbEndpoint, tableName, inMemory: options.inMemory, stateDir, cells }));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      // A second Ctrl-C while stopping changes nothing: the first one finishes the job.
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping`);
      // A failed stop still ends with 0 and no message, as `npm start` always has.
      void local
        .stop()
        .catch(() => undefined)
        .finally(() => {
          releasePidFile();
          resolve(EXIT_STOPPED);
        });
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });
}
