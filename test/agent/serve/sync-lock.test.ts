// The resident agent's hold on the cell's sync lock, with the real flock: held while it syncs, freed
// after, freed when the agent dies, and a clear failure when another sync keeps it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holdSyncLock, LockWaitStopped } from '../../../agent/serve/sync-lock.js';

let dir: string;
let lock: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sync-lock-'));
  lock = join(dir, 'sync.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Whether another process could take the lock right now (what the units' `flock -w` would do). */
const free = () => spawnSync('flock', ['-n', lock, 'true']).status === 0;

describe('holdSyncLock', () => {
  it('holds the lock until released', async () => {
    const held = await holdSyncLock(lock, 1);
    expect(free()).toBe(false);
    await held.release();
    expect(free()).toBe(true);
    expect(held.lost()).toBe(false);
  });

  it('says it was lost when its flock process ends before the release (killed from outside)', async () => {
    const held = await holdSyncLock(lock, 1);
    expect(held.lost()).toBe(false);
    spawnSync('pkill', ['-TERM', '-f', `^flock -w 1 ${lock} cat$`]);
    const deadline = Date.now() + 5000;
    while (!held.lost() && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
    expect(held.lost()).toBe(true);
    expect(free()).toBe(true);
    await held.release();
    expect(held.lost()).toBe(true);
  });

  it('stops waiting when its signal aborts (the agent stopping), leaving no flock behind', async () => {
    const other = spawn('flock', [lock, 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      await new Promise((done) => setTimeout(done, 200));
      const stopping = new AbortController();
      const waiting = holdSyncLock(lock, 30, stopping.signal);
      await new Promise((done) => setTimeout(done, 200));
      const abortedAt = performance.now();
      stopping.abort();
      await expect(waiting).rejects.toBeInstanceOf(LockWaitStopped);
      expect(performance.now() - abortedAt).toBeLessThan(1000);
      expect(spawnSync('pgrep', ['-f', `^flock -w 30 ${lock} cat$`]).status).toBe(1);
      // Already aborted: not even started.
      await expect(holdSyncLock(lock, 30, stopping.signal)).rejects.toBeInstanceOf(LockWaitStopped);
    } finally {
      if (other.pid !== undefined) process.kill(-other.pid, 'SIGKILL');
    }
  });

  it('fails after the wait when another sync holds it, naming the lock', async () => {
    const other = spawn('flock', [lock, 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      await new Promise((done) => setTimeout(done, 200));
      await expect(holdSyncLock(lock, 0.3)).rejects.toThrow(
        `cannot take the sync lock ${lock}: another sync held it for 0.3 s`,
      );
    } finally {
      if (other.pid !== undefined) process.kill(-other.pid, 'SIGKILL');
    }
  });

  it('is freed when the process holding it dies (what a killed sync leaves)', async () => {
    const module = resolve(import.meta.dirname, '../../../agent/serve/sync-lock.ts');
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import(${JSON.stringify(module)}).then(m => m.holdSyncLock(${JSON.stringify(lock)}, 5)).then(() => console.log('held'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((done) => holder.stdout?.on('data', () => done()));
    expect(free()).toBe(false);
    holder.kill('SIGKILL');
    await new Promise((done) => holder.on('exit', done));
    const deadline = Date.now() + 5000;
    while (!free() && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
    expect(free()).toBe(true);
  });
});
