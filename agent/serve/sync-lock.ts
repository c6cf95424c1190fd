// The cell's sync lock, held by the resident agent while it syncs. Every other sync of the cell (the
// SSM step's fallback, the containers-file unit's, the boot unit's, uninstall) runs under
// `flock <state-dir>/sync.lock`; node has no flock, so a child holds it for us:
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
}

const TAKEN = 'taken\n';

export function holdSyncLock(lockFile: string, waitSeconds: number): Promise<HeldLock> {
  return new Promise((resolve, reject) => {
    const holder = spawn('flock', ['-w', String(waitSeconds), lockFile, 'cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let echoed = '';
    let stderr = '';
    let held = false;
    const exited = new Promise<void>((done) => holder.on('close', () => done()));
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
      if (held) return;
      const why = code === 1 ? `another sync held it for ${waitSeconds} s` : `flock exited with ${code}`;
      reject(
        new ApplyError(`cannot take the sync lock ${lockFile}: ${why} ${firstLine(stderr)}`.trim(), 'flock', stderr),
      );
    });
    holder.stdout.on('data', (chunk: string) => {
      echoed += chunk;
      if (held || echoed !== TAKEN) return;
      held = true;
      resolve({
        release: async () => {
          holder.stdin.end();
          await exited;
        },
      });
    });
    holder.stdin.write(TAKEN);
  });
}
