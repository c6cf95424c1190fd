// The cell's sync lock, held by the resident agent while it syncs. Every other sync the cell's units
// run (the SSM step's fallback, the containers-file unit's, the boot unit's) runs under
// `flock <state-dir>/sync.lock` (a hand-run `agent sync` or `uninstall` takes none: deploy.md has
// the units stopped first). Node has no flock, so a small shell holds it for us, kept for the
// agent's life: asked, it opens the lock file on fd 9 and takes the lock with `flock -w S 9` (the
// lock stays with the open file, not with flock's process); it frees it by closing fd 9. Forking the
// agent, large with what it keeps, for every sync cost it 5-10 ms (command-helper.ts); the shell
// forks only flock. If the shell dies, its file closes and the lock is freed: the agent then hears
// that the lock was lost. If the agent dies, the shell reads end-of-file and exits: what a killed
// sync leaves.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ApplyError } from '../errors.js';

/** The lock every sync of a cell holds, in its state folder (lib/cell-units.ts, lib/cell-agent.ts). */
export const syncLockFile = (stateDir: string): string => join(stateDir, 'sync.lock');

export interface HeldLock {
  /** Frees the lock (waits until the holder says so, or has exited). */
  release(): Promise<void>;
  /**
   * Why the lock may not have kept other syncs out for the whole hold, or undefined: its holder
   * ended (killed from outside) before release() was asked, or the file at the path was replaced
   * while it was held (the other syncs lock that one). Read it after release(), which also finds a
   * holder that died unseen and the replaced file.
   */
  lost(): LostLock | undefined;
}

/** How a hold was lost (HeldLock.lost). */
export type LostLock = 'holder ended' | 'file replaced';

/** The wait for the lock was given up because the agent is stopping (SyncLock.hold's `signal`). */
export class LockWaitStopped extends Error {
  override readonly name = 'LockWaitStopped';
}

/**
 * The holder: a line with the seconds to wait asks for the lock, answered by flock's exit code (0:
 * held); while held, any line frees it, answered `released`, or `replaced` when the file at the path
 * is no longer the one it locked. $1 is the lock file, never part of the script's text.
 *
 * The other syncs of the cell lock whatever file is at the path, so a lock on a file deleted or
 * replaced (a state folder restored under a running cell) keeps none of them out. The holder opens
 * the file just before each flock and checks after it, and again at the release, that the file it
 * locked is the one at the path (`-ef` on /proc: no fork): replaced before the lock was taken, it
 * locks the new file (three tries, each of up to the wait); replaced while held, the agent hears
 * that the lock was lost. A file replaced while another sync holds the old one is not seen. Where
 * /proc cannot tell (no /proc of its own), it refuses at start rather than try forever.
 */
export const HOLDER_SCRIPT = [
  'exec 9>>"$1" || exit 1',
  '[ "/proc/$$/fd/9" -ef "$1" ] || { echo "cannot check the lock file through /proc/$$/fd/9" >&2; exit 1; }',
  'echo ready',
  'while IFS= read -r wait; do',
  '  tries=0',
  '  while :; do',
  '    exec 9>&-',
  '    exec 9>>"$1" || exit 1',
  '    flock -w "$wait" 9; code=$?',
  '    [ "$code" = 0 ] || break',
  '    [ "/proc/$$/fd/9" -ef "$1" ] && break',
  '    tries=$((tries + 1))',
  '    if [ "$tries" -ge 3 ]; then exec 9>&-; code=replaced; break; fi',
  '  done',
  '  echo "$code"',
  '  [ "$code" = 0 ] || continue',
  '  IFS= read -r _ || exit 0',
  '  if [ "/proc/$$/fd/9" -ef "$1" ]; then done=released; else done=replaced; fi',
  '  exec 9>&-',
  '  echo "$done"',
  'done',
].join('\n');

/** What the holder's next line answers. */
type Waiter = (line: string | undefined) => void;

/** One holder process and the answers it owes. */
class Holder {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private readonly waiters: Waiter[] = [];
  private buffered = '';
  stderr = '';
  /** The holder exited (or could not start). */
  gone = false;
  /** Called once when the holder exits. */
  onExit: () => void = () => undefined;

  constructor(lockFile: string) {
    // Its own process group, so that stopping a wait ends flock with it.
    this.child = spawn('sh', ['-c', HOLDER_SCRIPT, 'dynamic-egress-sync-lock', lockFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.read(chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-2000);
    });
    this.child.stdin?.on('error', () => undefined); // Gone already: its exit says so.
    this.exited = new Promise((done) => {
      const end = () => {
        if (this.gone) return;
        this.gone = true;
        for (const waiter of this.waiters.splice(0)) waiter(undefined);
        this.onExit();
        done();
      };
      // 'exit', not 'close': flock, waiting in the holder's group, may keep its pipes open a moment longer.
      this.child.on('exit', end);
      this.child.on('error', (error) => {
        this.stderr += error.message;
        end();
      });
    });
  }

  private read(chunk: string): void {
    this.buffered += chunk;
    for (let end = this.buffered.indexOf('\n'); end !== -1; end = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 1);
      this.waiters.shift()?.(line);
    }
  }

  /** The holder's next line; undefined once it has exited. */
  next(): Promise<string | undefined> {
    if (this.gone) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  send(line: string): Promise<string | undefined> {
    const answer = this.next();
    this.child.stdin?.write(`${line}\n`);
    return answer;
  }

  kill(): void {
    if (this.gone || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      // Gone meanwhile.
    }
  }

  close(): void {
    this.child.stdin?.end();
  }
}

/**
 * The resident agent's hold on the cell's sync lock: one holder process, started on first use and
 * again after it ended. One hold at a time (the agent syncs one at a time).
 */
export class SyncLock {
  private holder: Holder | undefined;
  private ready: Promise<boolean> | undefined;
  /** A hold asked for or held, not yet released: the holder takes one line at a time. */
  private busy = false;

  constructor(readonly lockFile: string) {}

  /**
   * Holds the lock, waiting at most `waitSeconds` for it. `signal` aborted while it still waits ends
   * the wait (LockWaitStopped); once held, only release() or the holder's end frees it.
   */
  async hold(waitSeconds: number, signal?: AbortSignal): Promise<HeldLock> {
    if (signal?.aborted === true)
      throw new LockWaitStopped(`stopping: the sync lock ${this.lockFile} was not waited for`);
    if (this.busy) throw new Error(`SyncLock: ${this.lockFile} is held or asked for already`);
    this.busy = true;
    try {
      return await this.take(waitSeconds, signal);
    } catch (error) {
      this.busy = false;
      throw error;
    }
  }

  private async take(waitSeconds: number, signal: AbortSignal | undefined): Promise<HeldLock> {
    const holder = await this.started();
    // Stopped while the holder started: no wait begins.
    if (signal?.aborted === true)
      throw new LockWaitStopped(`stopping: the sync lock ${this.lockFile} was not waited for`);
    holder.stderr = ''; // What flock says about this wait only.
    let stopped = false;
    const stop = () => {
      stopped = true;
      holder.kill();
    };
    signal?.addEventListener('abort', stop, { once: true });
    let answer: string | undefined;
    try {
      answer = await holder.send(String(waitSeconds));
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    if (stopped) throw new LockWaitStopped(`stopping: gave up waiting for the sync lock ${this.lockFile}`);
    if (answer === '0') return this.held(holder);
    const why =
      answer === undefined
        ? `its holder exited ${holder.stderr.trim()}`.trim()
        : answer === '1'
          ? `another sync held it for ${waitSeconds} s`
          : answer === 'replaced'
            ? 'the file at that path was replaced each time it was locked (3 tries)'
            : `flock exited with ${answer} ${holder.stderr.trim()}`.trim();
    throw new ApplyError(`cannot take the sync lock ${this.lockFile}: ${why}`, 'flock', holder.stderr);
  }

  /** Ends the holder (the agent stops); a lock still held is freed. */
  async close(): Promise<void> {
    const holder = this.holder;
    this.holder = undefined;
    this.ready = undefined;
    if (holder === undefined) return;
    holder.close();
    holder.kill();
    await holder.exited;
  }

  private held(holder: Holder): HeldLock {
    let releasing = false;
    let lost: LostLock | undefined = holder.gone ? 'holder ended' : undefined;
    holder.onExit = () => {
      if (!releasing) lost = 'holder ended';
    };
    return {
      release: async () => {
        if (releasing) return;
        releasing = true;
        const answer = await holder.send('');
        holder.onExit = () => undefined;
        // `replaced`: the file at the path is another now, which other syncs may have locked
        // meanwhile. Anything else: the holder died, perhaps before the release was asked (its exit
        // not seen yet), so the lock may have been free under the sync; a new holder next time.
        if (answer === 'replaced') lost ??= 'file replaced';
        else if (answer !== 'released') {
          lost ??= 'holder ended';
          this.forget(holder);
        }
        this.busy = false;
      },
      lost: () => lost,
    };
  }

  /** A running holder that said it is ready, started if there is none. */
  private async started(): Promise<Holder> {
    let holder = this.holder;
    if (holder !== undefined && !holder.gone && this.ready !== undefined && (await this.ready)) return holder;
    if (holder !== undefined) this.forget(holder);
    holder = new Holder(this.lockFile);
    const ready = holder.next().then((line) => line === 'ready');
    this.holder = holder;
    this.ready = ready;
    const started = holder;
    void started.exited.then(() => this.forget(started));
    if (await ready) return holder;
    this.forget(holder);
    const stderr = holder.stderr.trim();
    throw new ApplyError(
      `cannot take the sync lock ${this.lockFile}: its holder did not start ${stderr}`.trim(),
      'flock',
      stderr,
    );
  }

  private forget(holder: Holder): void {
    holder.kill();
    if (this.holder === holder) {
      this.holder = undefined;
      this.ready = undefined;
    }
  }
}
