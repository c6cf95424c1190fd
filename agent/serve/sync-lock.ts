// The cell's sync lock, held by the resident agent while it syncs. Every other sync the cell's units
// run (the SSM step's fallback, the containers-file unit's, the boot unit's) runs under
// `flock <state-dir>/sync.lock` (a hand-run `agent sync` or `uninstall` takes none: deploy.md has
// the units stopped first); node has no flock, so a child holds it for us:
// `flock -w S LOCK cat`. cat starts only once the lock is taken, and echoes a line back to say so;
// closing its input ends it and frees the lock. If the agent dies, cat reads end-of-file and the
// lock is freed all the same: what a killed sync leaves today.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ApplyError, firstLine } from '../errors.js';

/** The lock every sync of a cell holds, in its state folder (lib/cell-units.ts, lib/cell-agent.ts). */
export const syncLockFile = (stateDir: string): string => join(stateDir, 'sync.lock');

export interface HeldLock {
  /** Frees the lock (waits until the holder exited). */
  release(): Promise<void>;
  /**
   * Whether the lock was freed before release() was asked: its holder ended (killed from outside),
   * so another sync may have run beside this one.
   */
  lost(): boolean;
}

/** The wait for the lock was given up because the agent is stopping (holdSyncLock's `signal`). */
export class LockWaitStopped extends Error {
  override readonly name = 'LockWaitStopped';
}

const TAKEN = 'taken\n';

/**
 * Holds the cell's sync lock, waiting at most `waitSeconds` for it. `signal` aborted while it still
 * waits ends the wait (LockWaitStopped); once held, only release() or the holder's end frees it.
 */
export function holdSyncLock(lockFile: string, waitSeconds: number, signal?: AbortSignal): Promise<HeldLock> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new LockWaitStopped(`stopping: the sync lock ${lockFile} was not waited for`));
      return;
    }
    const holder = spawn('flock', ['-w', String(waitSeconds), lockFile, 'cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let echoed = '';
    let stderr = '';
    let held = false;
    let releasing = false;
    let lostWhileHeld = false;
    let stopped = false;
    const exited = new Promise<void>((done) => holder.on('close', () => done()));
    const stop = () => {
      if (held) return;
      stopped = true;
      holder.kill('SIGTERM');
    };
    signal?.addEventListener('abort', stop, { once: true });
    holder.stdout.setEncoding('utf8');
    holder.stderr.setEncoding('utf8');
    holder.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    holder.stdin.on('error', () => undefined); // The holder may be gone already; its exit says why.
    holder.on('error', (error) => {
      if (!held) reject(new ApplyError(`cannot take the sync lock ${lockFile}: ${error.message}`, 'flock', ''));
    });
    holder.on('close', (code) => {
      signal?.removeEventListener('abort', stop);
      if (held) {
        lostWhileHeld = !releasing;
        return;
      }
      if (stopped) {
        reject(new LockWaitStopped(`stopping: gave up waiting for the sync lock ${lockFile}`));
        return;
      }
      const why = code === 1 ? `another sync held it for ${waitSeconds} s` : `flock exited with ${code}`;
      reject(
        new ApplyError(`cannot take the sync lock ${lockFile}: ${why} ${firstLine(stderr)}`.trim(), 'flock', stderr),
      );
    });
    holder.stdout.on('data', (chunk: string) => {
      echoed += chunk;
      if (held || echoed !== TAKEN) return;
      held = true;
      signal?.removeEventListener('abort', stop);
      resolve({
        release: async () => {
          releasing = true;
          holder.stdin.end();
          await exited;
        },
        lost: () => lostWhileHeld,
      });
    });
    holder.stdin.write(TAKEN);
  });
}
