// The resident agent's hold on the cell's sync lock, with the real flock and sh: held while it syncs,
// freed after, one holder process for every sync, freed when the agent or the holder dies, and a
// clear failure when another sync keeps it.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOLDER_SCRIPT, LockWaitStopped, SyncLock } from '../../../agent/serve/sync-lock.js';

let dir: string;
let lock: string;
let syncLock: SyncLock;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sync-lock-'));
  lock = join(dir, 'sync.lock');
  syncLock = new SyncLock(lock);
});
afterEach(async () => {
  await syncLock.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Whether another process could take the lock right now (what the units' `flock -w` would do). */
const free = () => spawnSync('flock', ['-n', lock, 'true']).status === 0;
/** The pids of this test's holder processes (their command line names the lock file). */
const holders = (): string[] =>
  spawnSync('pgrep', ['-f', `dynamic-egress-sync-lock ${lock}$`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);

async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done() && Date.now() < deadline) await new Promise((next) => setTimeout(next, 20));
}

/** Runs `body` while another process (what a unit's `flock … cmd` is) holds the lock, then ends it. */
async function whileHeldElsewhere(body: () => Promise<void>): Promise<void> {
  const other = spawn('flock', [lock, 'sleep', '30'], { stdio: 'ignore', detached: true });
  try {
    await until(() => !free());
    await body();
  } finally {
    if (other.pid !== undefined) process.kill(-other.pid, 'SIGKILL');
  }
}

describe('SyncLock', () => {
  it('holds the lock until released, with one holder process for every hold', async () => {
    const pids = new Set<string>();
    for (let round = 0; round < 3; round += 1) {
      const held = await syncLock.hold(1);
      expect(free()).toBe(false);
      for (const pid of holders()) pids.add(pid);
      await held.release();
      expect(free()).toBe(true);
      expect(held.lost()).toBeUndefined();
    }
    expect(pids.size).toBe(1);
  });

  it('takes one hold at a time', async () => {
    const held = await syncLock.hold(1);
    await expect(syncLock.hold(1)).rejects.toThrow('is held or asked for already');
    expect(free()).toBe(false);
    await held.release();
    await (await syncLock.hold(1)).release();
  });

  it('says it was lost when its holder ends before the release (killed from outside), and starts another', async () => {
    const held = await syncLock.hold(1);
    expect(held.lost()).toBeUndefined();
    const [pid] = holders();
    spawnSync('kill', ['-TERM', String(pid)]);
    await until(() => held.lost() !== undefined);
    expect(held.lost()).toBe('holder ended');
    expect(free()).toBe(true);
    await held.release();
    expect(held.lost()).toBe('holder ended');
    const again = await syncLock.hold(1);
    expect(free()).toBe(false);
    expect(holders()).not.toContain(pid);
    await again.release();
  });

  it('locks the file at the path, not one deleted or replaced while the agent was idle (a restored state folder)', async () => {
    await (await syncLock.hold(1)).release(); // The holder runs, its file open.
    for (const change of [() => rmSync(lock), () => writeFileSync(`${lock}.new`, ''), () => undefined]) {
      change();
      spawnSync('mv', ['-f', `${lock}.new`, lock]); // Replaced (a no-op when there is no new file).
      const held = await syncLock.hold(1);
      // What every other sync of the cell does: `flock -w S -E 3 <path> …` must wait.
      expect(spawnSync('flock', ['-w', '0.2', '-E', '3', lock, 'true']).status).toBe(3);
      await held.release();
      expect(free()).toBe(true);
    }
  });

  it('says the hold was lost when the file at the path was replaced while held (other syncs lock the new one)', async () => {
    const held = await syncLock.hold(1);
    writeFileSync(`${lock}.new`, '');
    spawnSync('mv', ['-f', `${lock}.new`, lock]);
    expect(free()).toBe(true); // What another sync would find: the new file, unlocked.
    await held.release();
    expect(held.lost()).toBe('file replaced');
    // The next hold locks the file now at the path.
    const again = await syncLock.hold(1);
    expect(free()).toBe(false);
    await again.release();
    expect(again.lost()).toBeUndefined();
  });

  it('locks a file replaced as it locks it at most three times, then fails naming it; the holder serves on', async () => {
    // A flock that, after each lock it takes, replaces the file (while a count in `left` lasts).
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const left = join(dir, 'left');
    const real = spawnSync('sh', ['-c', 'command -v flock'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      join(bin, 'flock'),
      `#!/bin/sh\n${real} "$@"; code=$?\nn=$(cat ${left}); if [ "$n" -gt 0 ]; then echo $((n - 1)) > ${left}; : > ${lock}.new; mv -f ${lock}.new ${lock}; fi\nexit $code\n`,
    );
    chmodSync(join(bin, 'flock'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      writeFileSync(left, '2');
      const held = await syncLock.hold(1); // Third try: the file stays.
      expect(free()).toBe(false);
      await held.release();
      expect(held.lost()).toBeUndefined();
      writeFileSync(left, '3');
      await expect(syncLock.hold(1)).rejects.toThrow(
        `cannot take the sync lock ${lock}: the file at that path was replaced each time it was locked (3 tries)`,
      );
      expect(free()).toBe(true);
      expect(readFileSync(left, 'utf8').trim()).toBe('0');
      const again = await syncLock.hold(1);
      expect(free()).toBe(false);
      await again.release();
    } finally {
      process.env.PATH = path;
    }
  });

  // A mount namespace needs root; under CI a missing one fails the test instead of skipping it.
  it.runIf(process.getuid?.() === 0 || process.env.CI === 'true')(
    'refuses at start where /proc cannot say which file it holds, rather than try forever',
    () => {
      // Its own mount namespace, with an empty /proc.
      const result = spawnSync(
        'unshare',
        ['-m', 'sh', '-c', 'mount -t tmpfs none /proc && exec sh -c "$0" holder "$1"', HOLDER_SCRIPT, lock],
        { input: '1\n', encoding: 'utf8', timeout: 10_000 },
      );
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^cannot check the lock file through \/proc\/\d+\/fd\/9\n$/);
    },
  );

  it('stops a wait asked for while its holder is still starting', async () => {
    await whileHeldElsewhere(async () => {
      const stopping = new AbortController();
      const waiting = syncLock.hold(5, stopping.signal);
      queueMicrotask(() => stopping.abort()); // Before the new holder has said it is ready.
      const asked = performance.now();
      await expect(waiting).rejects.toBeInstanceOf(LockWaitStopped);
      expect(performance.now() - asked).toBeLessThan(1000);
    });
  });

  it('says the hold was lost when its holder died unseen before the release', async () => {
    const held = await syncLock.hold(1);
    const [pid] = holders();
    spawnSync('kill', ['-KILL', String(pid)]);
    await held.release(); // At once: the holder's exit may not have been seen yet.
    expect(held.lost()).toBe('holder ended');
    expect(free()).toBe(true);
  });

  it('stops waiting when its signal aborts (the agent stopping), leaving no flock behind', async () => {
    await whileHeldElsewhere(async () => {
      const stopping = new AbortController();
      const waiting = syncLock.hold(29.5, stopping.signal);
      await until(() => spawnSync('pgrep', ['-f', '^flock -w 29.5 9$']).status === 0);
      const abortedAt = performance.now();
      stopping.abort();
      await expect(waiting).rejects.toBeInstanceOf(LockWaitStopped);
      expect(performance.now() - abortedAt).toBeLessThan(1000);
      await until(() => spawnSync('pgrep', ['-f', '^flock -w 29.5 9$']).status === 1);
      expect(spawnSync('pgrep', ['-f', '^flock -w 29.5 9$']).status).toBe(1);
      // Already aborted: not even started.
      await expect(syncLock.hold(30, stopping.signal)).rejects.toBeInstanceOf(LockWaitStopped);
    });
    // The lock is free again: a new holder takes it.
    await until(free);
    await (await syncLock.hold(1)).release();
  });

  it('fails after the wait when another sync holds it, naming the lock', async () => {
    await whileHeldElsewhere(async () => {
      await expect(syncLock.hold(0.3)).rejects.toThrow(
        `cannot take the sync lock ${lock}: another sync held it for 0.3 s`,
      );
    });
  });

  it('fails with the reason when the lock file cannot be opened', async () => {
    const unopenable = new SyncLock(join(dir, 'missing', 'sync.lock'));
    await expect(unopenable.hold(1)).rejects.toThrow(
      /cannot take the sync lock .*missing\/sync\.lock: its holder did not start/,
    );
    await unopenable.close();
  });

  it('frees a held lock and ends its holder on close', async () => {
    await syncLock.hold(1);
    await syncLock.close();
    expect(free()).toBe(true);
    expect(holders()).toEqual([]);
  });

  it('is freed when the process holding it dies (what a killed sync leaves)', async () => {
    const module = resolve(import.meta.dirname, '../../../agent/serve/sync-lock.ts');
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import(${JSON.stringify(module)}).then(m => new m.SyncLock(${JSON.stringify(lock)}).hold(5)).then(() => console.log('held'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((done) => holder.stdout?.on('data', () => done()));
    expect(free()).toBe(false);
    holder.kill('SIGKILL');
    await new Promise((done) => holder.on('exit', done));
    await until(free);
    expect(free()).toBe(true);
    await until(() => holders().length === 0);
    expect(holders()).toEqual([]);
  });
});
