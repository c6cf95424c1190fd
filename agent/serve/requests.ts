// The files through which a cell's scripts hand a sync to the resident agent (`agent serve`), so
// that neither the SSM step nor the containers-file unit starts node for it. Plain files in one
// folder only root can write, because the client is a shell script (lib/cell-resident.ts):
//   client: <id>.request  "<min-version> <cheap|full>\n", written whole (a rename)
//   server: takes it by renaming it to <id>.taken, reads it, syncs, then writes <id>.out and
//           <id>.err, then <id>.code (the exit code), each whole, and last removes <id>.taken.
// At every moment one of <id>.request, <id>.taken and <id>.code exists until the client collects
// the result: a client that finds none of them knows its request was lost (the agent restarted and
// systemd replaced the folder) and syncs itself at once. A client that stops waiting removes its
// request and runs the sync itself; a result nobody collects is removed after STALE_RESULT_MS.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UNKNOWN_SOURCES, type UnknownSources } from '../../core/plan/plan.js';
import { isVerify, type Verify } from '../recorded-sync.js';
import { writeWhole } from '../write-whole.js';

/** Where the cell's units put requests: systemd's RuntimeDirectory of the agent service. */
export const DEFAULT_REQUESTS_DIR = '/run/dynamic-egress';
export const REQUEST_SUFFIX = '.request';
/** A request the agent took and has not answered yet. */
export const TAKEN_SUFFIX = '.taken';
export const RESULT_SUFFIXES = { stdout: '.out', stderr: '.err', code: '.code' } as const;
/** A request id: the client makes it from the time and its pid; a safe file-name alphabet. */
export const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A request is one short line; a longer file is not one. */
const MAX_REQUEST_BYTES = 64;
/**
 * What the client's function returns when no resident agent answered (it then syncs itself); no exit
 * code of the agent is this high. The agent answers it too, to requests it took and will not sync
 * because it is stopping while it waits for the sync lock.
 */
export const NOT_ANSWERED = 250;
/** Results and requests older than this were left by a client that gave up waiting. */
export const STALE_RESULT_MS = 10 * 60 * 1000;

export interface SyncRequest {
  readonly minVersion: number;
  readonly verify: Verify;
  /**
   * The unknown-sources setting the caller syncs with (the SSM step's UnknownSources), when it names
   * one: an agent started with another does not serve the request (NOT_ANSWERED), so that the caller
   * syncs with its own setting rather than report success for the agent's.
   */
  readonly unknownSources?: UnknownSources;
}

/** A request taken from the folder: what it asks, or why it cannot be served. */
export type TakenRequest =
  | { readonly id: string; readonly request: SyncRequest }
  | { readonly id: string; readonly problem: string };

export interface RequestResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `<min-version> <cheap|full> [reject|allow]`, or why not (min-version as the SSM document's MinVersion
 * allows).
 */
export function parseRequest(text: string): SyncRequest | string {
  const match = /^(\d{1,15}) ([a-z]{1,8})(?: ([a-z]{1,8}))?\n?$/.exec(text);
  const verify = match?.[2];
  const unknownSources = match?.[3];
  if (
    match === null ||
    verify === undefined ||
    !isVerify(verify) ||
    (unknownSources !== undefined && !isUnknownSources(unknownSources))
  ) {
    return `a request is "<min-version> <cheap|full> [reject|allow]", got ${JSON.stringify(text.slice(0, MAX_REQUEST_BYTES))}`;
  }
  return { minVersion: Number(match[1]), verify, ...(unknownSources === undefined ? {} : { unknownSources }) };
}

const isUnknownSources = (text: string): text is UnknownSources => UNKNOWN_SOURCES.some((value) => value === text);

/** The request line a client writes (tests and the bench write it as the cell's script does). */
export const requestLine = (request: SyncRequest): string =>
  `${request.minVersion} ${request.verify}${request.unknownSources === undefined ? '' : ` ${request.unknownSources}`}\n`;

/**
 * Creates the folder when it is missing (0700) and refuses one that others could write to: anyone
 * who can leave a request there can make the agent sync, and one who can replace a result can make
 * a script report what it likes.
 */
export async function prepareRequestsDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new Error(`${dir} is not a folder`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) throw new Error(`${dir} belongs to uid ${info.uid}, not to this agent`);
  if ((info.mode & 0o022) !== 0)
    throw new Error(`${dir} is writable by others (mode ${(info.mode & 0o777).toString(8)})`);
  // Taken by an agent that is gone (a folder that outlived it): nobody will answer them, and their
  // clients, finding none of their files, sync themselves.
  for (const name of await readdir(dir)) {
    if (name.endsWith(TAKEN_SUFFIX)) await rm(join(dir, name), { force: true, recursive: true });
  }
}

/**
 * Takes every request waiting in `dir`, in name order: each is renamed to `<id>.taken` and read,
 * so a request is answered once. A file that is not a small regular file, or not a request, is
 * answered with a problem (the client then sees exit 2) and changes nothing.
 */
export async function takeRequests(dir: string): Promise<TakenRequest[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(REQUEST_SUFFIX)).sort();
  const taken: TakenRequest[] = [];
  for (const name of names) {
    const id = name.slice(0, -REQUEST_SUFFIX.length);
    const path = join(dir, name);
    // A name no client makes gets no result file either (its name is not safe to build on).
    // Recursive: a folder of that name is removed too, not a reason to stop serving.
    if (!REQUEST_ID.test(id)) {
      await rm(path, { force: true, recursive: true });
      continue;
    }
    const takenPath = join(dir, id + TAKEN_SUFFIX);
    try {
      await rename(path, takenPath);
    } catch (error) {
      // Gone meanwhile (its client gave up), or not movable: either way its client finds no file of
      // its request and syncs itself.
      if (!isCode(error, 'ENOENT')) await rm(path, { force: true, recursive: true }).catch(() => undefined);
      continue;
    }
    const text = await readSmallFile(takenPath);
    const parsed = typeof text === 'string' ? parseRequest(text) : text.problem;
    taken.push(typeof parsed === 'string' ? { id, problem: parsed } : { id, request: parsed });
  }
  return taken;
}

/** A regular file's text (at most MAX_REQUEST_BYTES + 1 bytes read), without following a link. */
async function readSmallFile(path: string): Promise<string | { problem: string }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: a FIFO left there must not hang the agent (it is refused just below).
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return { problem: 'a request must be a regular file' };
  }
  try {
    if (!(await handle.stat()).isFile()) return { problem: 'a request must be a regular file' };
    const buffer = Buffer.alloc(MAX_REQUEST_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_REQUEST_BYTES) return { problem: `a request is at most ${MAX_REQUEST_BYTES} bytes` };
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Leaves a request's result: output first, the exit code next, each written whole (a rename), and
 * only then removes the request's `.taken` (its client must always find one of the two).
 */
export async function writeResult(dir: string, id: string, result: RequestResult): Promise<void> {
  if (!REQUEST_ID.test(id)) throw new Error(`not a request id: ${JSON.stringify(id)}`);
  await writeWhole(join(dir, id + RESULT_SUFFIXES.stdout), result.stdout);
  await writeWhole(join(dir, id + RESULT_SUFFIXES.stderr), result.stderr);
  await writeWhole(join(dir, id + RESULT_SUFFIXES.code), `${result.code}\n`);
  await rm(join(dir, id + TAKEN_SUFFIX), { force: true, recursive: true });
}

/** Removes what clients left behind: results nobody collected, requests nobody took, temporary files. */
export async function removeStale(dir: string, now = Date.now(), maxAgeMs = STALE_RESULT_MS): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (info !== undefined && now - info.mtimeMs > maxAgeMs) await rm(path, { force: true, recursive: true });
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
