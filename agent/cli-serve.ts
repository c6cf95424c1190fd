// `agent serve …`: the cell's resident agent. It runs `sync --from-dynamodb` for the requests its
// units and the SSM step leave in a folder (serve/requests.ts), with one DynamoDB client and the
// plan of the last sync kept (sync-memory.ts), so a sync costs what changed rather than a node
// start, the SDK and a plan from nothing. Each sync holds the cell's sync lock, like every other.
import { mkdir } from 'node:fs/promises';
import { jsonLineLog, type Log } from '../core/log.js';
import type { Serve } from './cli-args.js';
import { EXIT_APPLY_FAILED, reportFailure } from './cli-failure.js';
import { type CliIo, cliRunner } from './cli-io.js';
import { type ResidentParts, syncFromTable, tableClient } from './cli-sync-table.js';
import { startCommandHelper } from './command-helper.js';
import { ApplyError, messageOf } from './errors.js';
import { dropRedirects } from './proxy/drop-redirects.js';
import { NOT_ANSWERED, type RequestResult, type SyncRequest } from './serve/requests.js';
import { serveRequests } from './serve/server.js';
import { type HeldLock, LockWaitStopped, type LostLock, SyncLock, syncLockFile } from './serve/sync-lock.js';
import { AgentState } from './state.js';
import { SyncMemory } from './sync-memory.js';
import { AGENT_SERVICE } from './sync-summary.js';

/** How long taking the redirects away may hold up an agent that is about to exit (a hung kernel). */
const DROP_TIMEOUT_MS = 10_000;

/** Bounded (proxy/drop-redirects.ts): what could not be done is logged. */
async function dropProxyRedirects(args: Serve, io: CliIo, log: Log): Promise<void> {
  if (args.proxy === undefined) return;
  const { notMarked, notRemoved } = await dropRedirects(
    new AgentState(args.stateDir),
    cliRunner(io, args.netns),
    DROP_TIMEOUT_MS,
  );
  if (notMarked !== undefined) log.warn('proxy step not marked to run again', { error: notMarked });
  if (notRemoved !== undefined) log.warn("proxy's redirects not removed", { error: notRemoved });
}

async function dropUnderLock(args: Serve, io: CliIo, log: Log, syncLock: SyncLock, signal: AbortSignal): Promise<void> {
  if (args.proxy === undefined) return;
  let lock: HeldLock;
  try {
    lock = await syncLock.hold(args.lockWaitSeconds, signal);
  } catch (error) {
    log.warn("proxy's redirects not removed: the sync lock was not taken", { error: messageOf(error) });
    return;
  }
  try {
    await dropProxyRedirects(args, io, log);
  } finally {
    await lock.release();
  }
}

/** The answer to a request this agent does not serve: its caller syncs itself, as when no agent runs. */
const NOT_SERVED: RequestResult = { code: NOT_ANSWERED, stdout: '', stderr: '' };

export async function serve(args: Serve, io: CliIo): Promise<void> {
  const resident: ResidentParts = { client: tableClient(), memory: new SyncMemory() };
  const syncLock = new SyncLock(syncLockFile(args.stateDir));
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
  let gaveUp = false;
  // Until one sync succeeded, every sync reads the kernel back whole (as `--verify full`): a started
  // (or restarted) agent checks what it finds rather than trust the record, and plans, so that what
  // it keeps is there for the next change.
  let checkedWhole = false;
  try {
    await serveRequests({
      dir: args.requests,
      signal: stopping.signal,
      log: (line) => log.warn(line),
      sync: async (requests) => {
        // A caller that syncs with another unknown-sources setting syncs itself (requests.ts).
        const others = (request: SyncRequest) =>
          request.unknownSources !== undefined && request.unknownSources !== args.unknownSources;
        const mine = requests.filter((request) => !others(request));
        if (mine.length === 0) return requests.map(() => NOT_SERVED);
        const outcome = await syncForRequests(args, served, resident, syncLock, mine, {
          readBackAll: !checkedWhole,
          signal: stopping.signal,
        });
        if (outcome.results.every((result) => result.code === 0)) checkedWhole = true;
        // Another sync may have run beside it: the next one reads the kernel back whole again.
        if (outcome.lockLost) checkedWhole = false;
        // Given up, or its lock lost under it, a sync may have left the filter rules half way to the
        // new state while the proxy keeps its old configuration: the redirects go, as converge.ts
        // does for the failures it sees, and the proxy step runs at the next sync. Under the lock:
        // the one a given-up sync still holds, else taken again (a sync beside it may be done).
        if (outcome.gaveUp) {
          await dropProxyRedirects(args, served, log);
          gaveUp = true;
          stopping.abort(); // Its requests are answered; nothing else is taken.
        } else if (outcome.lockLost) {
          await dropUnderLock(args, served, log, syncLock, stopping.signal);
        }
        // In the order asked: syncForRequests answers its requests in theirs.
        const answered = outcome.results[Symbol.iterator]();
        return requests.map((request) => (others(request) ? NOT_SERVED : (answered.next().value ?? NOT_SERVED)));
      },
    });
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    resident.client.destroy();
    helper?.stop();
    // A given-up sync keeps the lock until the process ends (below); otherwise no hold is left.
    if (!gaveUp) await syncLock.close();
  }
  if (gaveUp) {
    // The sync given up still runs, holding the lock, and may hang on forever: only the end of the
    // process stops it and frees the lock (what a killed sync leaves). systemd starts the agent again.
    log.error('agent exits: a sync did not finish in time', { syncTimeoutSeconds: args.syncTimeoutSeconds });
    process.exit(EXIT_APPLY_FAILED);
  }
}

/**
 * One sync for requests taken together, under the cell's lock: a full read-back if any asks for one
 * (or `readBackAll`).
 * Each request gets the sync's output and exit code, and its own warning when the table offered an
 * older version than it asked for. Everything is also written to the agent's own output (its journal).
 */
export async function syncForRequests(
  args: Serve,
  io: CliIo,
  resident: ResidentParts,
  syncLock: SyncLock,
  requests: readonly SyncRequest[],
  options: {
    readonly readBackAll?: boolean;
    /** Aborted (the agent stops) while the lock is still awaited: the requests get NOT_ANSWERED. */
    readonly signal?: AbortSignal;
  } = {},
): Promise<{ results: RequestResult[]; gaveUp: boolean; lockLost: boolean }> {
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
  let gaveUp = false;
  let lostLock: LostLock | undefined;
  const answers = (): RequestResult[] =>
    requests.map((request) => ({
      code,
      stdout,
      stderr:
        version !== undefined && version < request.minVersion
          ? `${stderr}warning: asked for policy version >= ${request.minVersion}, the table offers ${version}; applied that\n`
          : stderr,
    }));
  let lock: HeldLock;
  try {
    lock = await syncLock.hold(args.lockWaitSeconds, options.signal);
  } catch (error) {
    // Stopping before its turn came: its callers sync themselves, as when no agent runs.
    if (error instanceof LockWaitStopped) {
      return { results: requests.map(() => NOT_SERVED), gaveUp, lockLost: false };
    }
    code = reportFailure(error, captured);
    return { results: answers(), gaveUp, lockLost: false };
  }
  try {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gaveUp = true;
        reject(
          new ApplyError(
            `the sync did not finish within ${args.syncTimeoutSeconds} s: the resident agent gives it up and exits (systemd starts it again)`,
            'serve',
            '',
          ),
        );
      }, args.syncTimeoutSeconds * 1000);
    });
    try {
      const full = options.readBackAll === true || requests.some((request) => request.verify === 'full');
      const verify = full ? 'full' : 'cheap';
      const sync = syncFromTable(
        { ...args, command: 'sync --from-dynamodb', minVersion: 0, verify, mode: 'apply' },
        captured,
        resident,
      );
      sync.catch(() => undefined); // Given up, it may still fail later: nobody waits for it then.
      version = await Promise.race([sync, late]);
    } finally {
      clearTimeout(timer);
      // A sync given up keeps the lock until the process ends (it may still be writing).
      if (!gaveUp) await lock.release();
      lostLock = lock.lost();
    }
  } catch (error) {
    code = reportFailure(error, captured);
  }
  if (lostLock !== undefined) {
    // Whatever the sync did, it did without the lock for part of it: the caller hears so, and the
    // next sync does not trust the kernel's record.
    const why =
      lostLock === 'file replaced'
        ? 'the lock file at that path was replaced, and other syncs lock the new one'
        : 'the process holding it ended';
    captured.stderr(
      `error: the cell's sync lock was freed while this sync ran (${why}): another sync may have run beside it; the next sync reads the kernel back whole\n`,
    );
    code = EXIT_APPLY_FAILED;
  }
  return { results: answers(), gaveUp, lockLost: lostLock !== undefined };
}
