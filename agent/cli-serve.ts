// `agent serve …`: the cell's resident agent. It runs `sync --from-dynamodb` for the requests its
// units and the SSM step leave in a folder (serve/requests.ts), with one DynamoDB client and the
// plan of the last sync kept (sync-memory.ts), so a sync costs what changed rather than a node
// start, the SDK and a plan from nothing. Each sync holds the cell's sync lock, like every other.
import { mkdir } from 'node:fs/promises';
import { jsonLineLog } from '../core/log.js';
import type { Serve } from './cli-args.js';
import { reportFailure } from './cli-failure.js';
import type { CliIo } from './cli-io.js';
import { type ResidentParts, syncFromTable, tableClient } from './cli-sync-table.js';
import { startCommandHelper } from './command-helper.js';
import type { RequestResult, SyncRequest } from './serve/requests.js';
import { serveRequests } from './serve/server.js';
import { holdSyncLock, syncLockFile } from './serve/sync-lock.js';
import { SyncMemory } from './sync-memory.js';
import { AGENT_SERVICE } from './sync-summary.js';

export async function serve(args: Serve, io: CliIo): Promise<void> {
  const resident: ResidentParts = { client: tableClient(), memory: new SyncMemory() };
  // Its kernel commands start from a small helper: forking this process, large with what it keeps,
  // would cost every sync several milliseconds per command (command-helper.ts).
  const helper = io.runner === undefined ? startCommandHelper() : undefined;
  const served: CliIo = helper === undefined ? io : { ...io, runner: helper.runner };
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const log = jsonLineLog({ service: AGENT_SERVICE, write: (line) => io.stdout(`${line}\n`) });
  // The lock file lives there; a cell that never synced has no state folder yet.
  await mkdir(args.stateDir, { recursive: true, mode: 0o700 });
  log.info('agent serving', { requests: args.requests, cellName: args.cellName });
  try {
    await serveRequests({
      dir: args.requests,
      signal: stopping.signal,
      log: (line) => log.warn(line),
      sync: (requests) => syncForRequests(args, served, resident, requests),
    });
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    resident.client.destroy();
    helper?.stop();
  }
}

/**
 * One sync for requests taken together, under the cell's lock: a full read-back if any asks for one.
 * Each request gets the sync's output and exit code, and its own warning when the table offered an
 * older version than it asked for. Everything is also written to the agent's own output (its journal).
 */
export async function syncForRequests(
  args: Serve,
  io: CliIo,
  resident: ResidentParts,
  requests: readonly SyncRequest[],
): Promise<RequestResult[]> {
  let stdout = '';
  let stderr = '';
  const captured: CliIo = {
    ...io,
    stdout: (text) => {
      stdout += text;
      io.stdout(text);
    },
    stderr: (text) => {
      stderr += text;
      io.stderr(text);
    },
  };
  let code = 0;
  let version: number | undefined;
  try {
    const lock = await holdSyncLock(syncLockFile(args.stateDir), args.lockWaitSeconds);
    try {
      const verify = requests.some((request) => request.verify === 'full') ? 'full' : 'cheap';
      version = await syncFromTable(
        { ...args, command: 'sync --from-dynamodb', minVersion: 0, verify, mode: 'apply' },
        captured,
        resident,
      );
    } finally {
      await lock.release();
    }
  } catch (error) {
    code = reportFailure(error, captured);
  }
  return requests.map((request) => ({
    code,
    stdout,
    stderr:
      version !== undefined && version < request.minVersion
        ? `${stderr}warning: asked for policy version >= ${request.minVersion}, the table offers ${version}; applied that\n`
        : stderr,
  }));
}
