// The resident agent's loop: wait for requests in the folder (a watch on it, and a scan every
// RESCAN_MS in case a watch event is lost), take every request waiting, answer them with one sync,
// leave each its result. Requests are served one sync at a time, in the order they were taken.
import { watch } from 'node:fs';
import { EXIT_APPLY_FAILED, EXIT_USAGE } from '../cli-failure.js';
import { messageOf } from '../errors.js';
import {
  prepareRequestsDir,
  type RequestResult,
  removeStale,
  STALE_RESULT_MS,
  type SyncRequest,
  takeRequests,
  writeResult,
} from './requests.js';

const RESCAN_MS = 1000;

export interface ServeRequestsOptions {
  readonly dir: string;
  /**
   * Runs one sync for requests taken together and returns each one's result, in order. Should not
   * throw (the CLI's exit codes are its business); if it does, every request gets exit 3.
   */
  readonly sync: (requests: readonly SyncRequest[]) => Promise<readonly RequestResult[]>;
  /** Aborted: the loop ends after the sync under way, if any. */
  readonly signal: AbortSignal;
  /** Where the loop says what it could not do (a result it could not write). */
  readonly log: (line: string) => void;
  /** @default RESCAN_MS */
  readonly rescanMs?: number;
}

export async function serveRequests(options: ServeRequestsOptions): Promise<void> {
  const { dir, signal } = options;
  await prepareRequestsDir(dir);
  let pending = true; // Requests written before the agent started are served first.
  let wake = (): void => undefined;
  const nudge = (): void => {
    pending = true;
    wake();
  };
  const watcher = watch(dir, nudge);
  const timer = setInterval(nudge, options.rescanMs ?? RESCAN_MS);
  signal.addEventListener('abort', nudge);
  let staleCheckedAt = 0;
  try {
    while (!signal.aborted) {
      if (!pending) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      pending = false;
      if (signal.aborted) break;
      if (Date.now() - staleCheckedAt > STALE_RESULT_MS / 10) {
        staleCheckedAt = Date.now();
        await removeStale(dir).catch((error: unknown) => options.log(`cannot clean ${dir}: ${messageOf(error)}`));
      }
      await serveWaiting(options);
    }
  } finally {
    watcher.close();
    clearInterval(timer);
    signal.removeEventListener('abort', nudge);
  }
}

/** Answers every request waiting now: bad ones at once, the rest with one sync. */
async function serveWaiting(options: ServeRequestsOptions): Promise<void> {
  const taken = await takeRequests(options.dir);
  const answer = (id: string, result: RequestResult) =>
    writeResult(options.dir, id, result).catch((error: unknown) =>
      options.log(`cannot leave the result of request ${id}: ${messageOf(error)}`),
    );
  const valid: { id: string; request: SyncRequest }[] = [];
  for (const each of taken) {
    if ('problem' in each) {
      await answer(each.id, { code: EXIT_USAGE, stdout: '', stderr: `error: bad request: ${each.problem}\n` });
    } else {
      valid.push(each);
    }
  }
  if (valid.length === 0) return;
  const results = await options.sync(valid.map((each) => each.request)).catch((error: unknown): RequestResult[] =>
    valid.map(() => ({
      code: EXIT_APPLY_FAILED,
      stdout: '',
      stderr: `error: unexpected failure: ${messageOf(error)}\n`,
    })),
  );
  for (const [index, each] of valid.entries()) {
    const result = results[index] ?? {
      code: EXIT_APPLY_FAILED,
      stdout: '',
      stderr: 'error: the sync gave no result\n',
    };
    await answer(each.id, result);
  }
}
