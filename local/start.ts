// `npm start`: the whole system on this machine (options in start-options.ts). Resolves with the
// exit code: 2 for a bad command line, environment or cells file, 1 when local mode does not start
// (also when another `npm start` owns the folder) or when DynamoDB Local dies under it, 0 once SIGINT,
// SIGTERM or the end of the parent process (npm, tsx) has stopped everything.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startCommandHelper } from '../agent/command-helper.js';
import { bundleAgent } from '../bundling/agent-bundle.js';
import { jsonLineLog } from '../core/log.js';
import { DEFAULT_TABLE_NAME } from '../core/store/table-definition.js';
import { API_PREFIX } from '../lambdas/api/routes.js';
import { inProcessAgentRunner } from './cells/agent-in-process.js';
import { agentProcessRunner } from './cells/agent-process.js';
import { cellProxies } from './cells/cell-proxies.js';
import { dryRunCell } from './cells/dry-run-cell.js';
import { type LocalCell, readLocalCells } from './cells/local-cells.js';
import type { AgentRunner } from './cells/local-dispatcher.js';
import { type Environment, EXIT_USAGE } from './command-line.js';
import { type LocalMode, startLocalMode } from './local-mode.js';
import { LOCAL_SERVICE } from './local-service.js';
import { cellStateRoot, localStateDir } from './paths.js';
import { claimPidFile, type PidFileOwner, type RunningInstance } from './pid-file.js';
import { startBanner } from './start-banner.js';
import { parseStartOptions } from './start-options.js';

const EXIT_STOPPED = 0;
const EXIT_START_FAILED = 1;
const EXIT_DATABASE_DIED = 1;
/** How often the parent is checked: when npm (or tsx) dies, we are reparented and stop. */
const PARENT_CHECK_MS = 500;
/** A stop that hangs (a dead database under the stream reader) does not keep the process alive. */
const STOP_TIMEOUT_MS = 10_000;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function runLocalMode(argv: readonly string[], env: Environment): Promise<number> {
  const parsed = parseStartOptions(argv, env);
  if (!parsed.ok) {
    console.error(`error: ${parsed.error}`);
    return EXIT_USAGE;
  }
  const options = parsed.options;
  const stateDir = localStateDir(env);
  // Before anything is written to the folder: a running instance's files are left alone.
  let owner: PidFileOwner;
  try {
    const claim = claimPidFile(stateDir);
    if (!claim.ok) {
      console.error(alreadyRunning(stateDir, claim.running));
      return EXIT_START_FAILED;
    }
    owner = withThrowawayCellState(claim.owner, options.inMemory ? cellStateRoot(stateDir, true) : undefined);
  } catch (error) {
    console.error(`error: local mode did not start: ${messageOf(error)}`);
    return EXIT_START_FAILED;
  }
  const started = performance.now();
  // Start-up takes seconds (the JVM, the agent bundle): say what is happening, with the time so far.
  const progress = (step: string): void => {
    console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${step}`);
  };
  let cells: LocalCell[];
  let agentFile: string;
  try {
    cells = options.cellsFile ? readLocalCells(options.cellsFile) : [dryRunCell(stateDir)];
    progress('bundling the cell agent');
    agentFile = await bundleAgent(join(stateDir, 'agent'));
  } catch (error) {
    owner.release();
    console.error(`error: ${messageOf(error)}`);
    return EXIT_USAGE;
  }

  // Each namespace cell's HAProxy, started by its agent when it has http or https destinations.
  const proxies = cellProxies({ cells, stateRoot: cellStateRoot(stateDir, options.inMemory) });
  // Set once DynamoDB is up: the agent runner needs its endpoint (process) or client (in-process).
  // In-process agents start their iptables and ipset commands through a small helper process (it
  // exits with this one).
  const commands = startCommandHelper();
  let runAgent: AgentRunner = async () => ({ ok: false, output: 'DynamoDB is not up yet' });
  const tableName = DEFAULT_TABLE_NAME;
  let local: LocalMode;
  try {
    local = await startLocalMode({
      tableName,
      propagation: {
        cells,
        runAgent: (cell, minVersion, verify) => runAgent(cell, minVersion, verify),
        // The cells' host-name refresh runs this bundle in each cell's namespace, on its state directory.
        names: {
          agentFile,
          stateRoot: cellStateRoot(stateDir, options.inMemory),
          ...(options.denyNetworks === undefined ? {} : { denyNetworks: options.denyNetworks }),
        },
        proxies,
        ...(options.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: options.resyncIntervalMs }),
      },
      stateDir,
      port: options.port,
      inMemory: options.inMemory,
      dynamodbPort: options.dynamodbPort,
      ...(options.jwt ? { jwt: options.jwt } : {}),
      requestLog: jsonLineLog({ service: LOCAL_SERVICE }),
      progress,
      onDynamoDbReady: (endpoint, dynamodb) => {
        const stateRoot = cellStateRoot(stateDir, options.inMemory);
        const denyNetworks = options.denyNetworks;
        runAgent =
          options.agentMode === 'process'
            ? agentProcessRunner({ agentFile, tableName, dynamodbEndpoint: endpoint, stateRoot, denyNetworks, proxies })
            : inProcessAgentRunner({ dynamodb, tableName, stateRoot, denyNetworks, proxies, runner: commands.runner });
      },
    });
  } catch (error) {
    owner.release();
    console.error(`error: local mode did not start: ${messageOf(error)}`);
    return EXIT_START_FAILED;
  }
  owner.record({
    url: local.url,
    ...(local.dynamodbLocal?.process.pid ? { dynamodbLocalPid: local.dynamodbLocal.process.pid } : {}),
  });

  const { url, dynamodbEndpoint } = local;
  console.log(
    startBanner({
      url,
      dynamodbEndpoint,
      tableName,
      inMemory: options.inMemory,
      stateDir,
      cells,
      proxy: proxies.state,
    }),
  );
  return runUntilStopped(local, owner);
}

/**
 * The owner of the folder, which for an in-memory run also empties the cells' throwaway state: now,
 * in case a killed run left some, and when it lets the folder go.
 */
function withThrowawayCellState(owner: PidFileOwner, throwawayDir: string | undefined): PidFileOwner {
  if (throwawayDir === undefined) return owner;
  const discard = (): void => rmSync(throwawayDir, { recursive: true, force: true });
  discard();
  return {
    record: (facts) => owner.record(facts),
    release: () => {
      discard();
      owner.release();
    },
  };
}

function alreadyRunning(stateDir: string, running: RunningInstance): string {
  const where = running.url ? `, API ${running.url}${API_PREFIX}` : ', still starting';
  return (
    `error: local mode is already running in ${stateDir} (pid ${running.pid}${where}).\n` +
    `Stop it first (kill ${running.pid}), or set EGRESS_LOCAL_DIR to another folder to run a second one.`
  );
}

/**
 * Serves until SIGINT or SIGTERM, the end of the parent process, or the death of DynamoDB Local;
 * then stops everything and resolves with the exit code.
 */
function runUntilStopped(local: LocalMode, owner: PidFileOwner): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (exitCode: number): void => {
      // A second Ctrl-C while stopping changes nothing: the first one finishes the job.
      if (stopping) return;
      stopping = true;
      clearInterval(parentCheck);
      const timeout = new Promise<void>((done) => setTimeout(done, STOP_TIMEOUT_MS).unref());
      // A failed stop still ends with the code of its cause and no message, as `npm start` always has.
      void Promise.race([local.stop().catch(() => undefined), timeout]).finally(() => {
        owner.release();
        resolve(exitCode);
      });
    };
    const onSignal = (signal: string): void => {
      if (!stopping) console.log(`\n${signal}: stopping`);
      stop(EXIT_STOPPED);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));

    // npm forwards SIGINT and SIGTERM to the script, but an npm or tsx that dies (SIGKILL, a crash)
    // forwards nothing: we are then reparented, and stop as if signalled.
    const parent = process.ppid;
    const parentCheck = setInterval(() => {
      if (process.ppid === parent || stopping) return;
      console.log(`\nparent process ${parent} ended: stopping`);
      stop(EXIT_STOPPED);
    }, PARENT_CHECK_MS);

    // Every route needs the database: without it, say so and end rather than answer 500s.
    const database = local.dynamodbLocal?.process;
    const onDatabaseExit = (): void => {
      if (stopping || !database) return;
      const how = database.signalCode ? `was killed by ${database.signalCode}` : `exited with ${database.exitCode}`;
      console.error(`error: DynamoDB Local (pid ${database.pid}) ${how}; local mode cannot serve without it: stopping`);
      stop(EXIT_DATABASE_DIED);
    };
    database?.once('exit', onDatabaseExit);
    if (database && (database.exitCode !== null || database.signalCode !== null)) onDatabaseExit();
  });
}
