// How long a cell's scripts wait for the resident agent before they sync themselves, and the sh
// function they reach it through, run by sh against the agent's real request loop.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestResult } from '../../agent/serve/requests.js';
import { serveRequests } from '../../agent/serve/server.js';
import {
  RESIDENT_FAST_POLL_SECONDS,
  RESIDENT_FAST_POLLS,
  RESIDENT_POLL_SECONDS,
  residentPolls,
  residentSyncFunction,
  residentWaitSeconds,
} from '../../lib/cell-resident.js';

describe('residentWaitSeconds', () => {
  it('waits at most a minute, and half the step so that its own sync has the other half (10 s at least)', () => {
    expect([3600, 300, 120, 60, 45, 30, 20].map(residentWaitSeconds)).toEqual([60, 60, 60, 30, 22, 15, 10]);
  });

  it('is what the sh function waits', () => {
    expect(residentSyncFunction({ waitSeconds: 15 })).toContain(`-ge ${residentPolls(15)} ]`);
  });
});

describe('residentPolls', () => {
  it('sleeps at least the wait: the fast polls, then the slow ones', () => {
    for (const seconds of [10, 15, 60]) {
      const polls = residentPolls(seconds);
      const slept =
        RESIDENT_FAST_POLLS * RESIDENT_FAST_POLL_SECONDS + (polls - RESIDENT_FAST_POLLS) * RESIDENT_POLL_SECONDS;
      expect(slept).toBeGreaterThanOrEqual(seconds - 1e-9);
      expect(slept).toBeLessThan(seconds + RESIDENT_POLL_SECONDS);
    }
    expect(residentPolls(60)).toBe(40 + 2990);
  });
});

describe('resident_sync, against the real request loop', () => {
  let dir: string;
  let stop: AbortController;
  let served: Promise<void>;
  /** The ids of the requests each sync took (their `.taken` files when it started). */
  let taken: string[];
  let answer: RequestResult;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'resident-sync-')), 'requests');
    stop = new AbortController();
    taken = [];
    answer = { code: 0, stdout: 'synced\n', stderr: '' };
    served = serveRequests({
      dir,
      signal: stop.signal,
      log: () => undefined,
      sync: async (requests) => {
        const names = readdirSync(dir).filter((name) => name.endsWith('.taken'));
        taken.push(...names.map((name) => name.slice(0, -'.taken'.length)));
        return requests.map(() => answer);
      },
    });
  });
  afterEach(async () => {
    stop.abort();
    await served;
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  /** `argv` followed by the function and a call of it, as a cell's script runs it; its exit and output. */
  const call = (argv: readonly string[] = ['sh', '-c']) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const script = `${residentSyncFunction({ requestsDir: dir, waitSeconds: 10 })} resident_sync 0 cheap`;
      const child = spawn(argv[0] ?? 'sh', [...argv.slice(1), script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.on('close', (status) => done({ status, stdout, stderr }));
    });

  it("prints the agent's output and returns its code; each request is named by the kernel's random UUID; nothing is left", async () => {
    answer = { code: 3, stdout: 'out line\n', stderr: 'error: boom\n' };
    expect(await call()).toEqual({ status: 3, stdout: 'out line\n', stderr: 'error: boom\n' });
    answer = { code: 2, stdout: '', stderr: 'error: bad request\n' };
    expect(await call()).toEqual({ status: 2, stdout: '', stderr: 'error: bad request\n' });
    answer = { code: 0, stdout: 'synced\n', stderr: '' };
    expect(await call()).toEqual({ status: 0, stdout: 'synced\n', stderr: '' });
    expect(taken).toHaveLength(3);
    for (const id of taken) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(taken).size).toBe(3);
    expect(readdirSync(dir)).toEqual([]);
  });

  // A mount namespace needs root; under CI a missing one fails the test instead of skipping it.
  it.runIf(process.getuid?.() === 0 || process.env.CI === 'true')(
    'names the request by the time, its pid and a count where the UUID reads empty',
    async () => {
      // Its own mount namespace (unshare -m), where /dev/null is mounted over the kernel's UUID file.
      const unreadable = [
        'unshare',
        '-m',
        'sh',
        '-c',
        'mount --bind /dev/null /proc/sys/kernel/random/uuid && sh -c "$0"',
      ];
      expect(await call(unreadable)).toEqual({ status: 0, stdout: 'synced\n', stderr: '' });
      expect(taken).toHaveLength(1);
      expect(taken[0]).toMatch(/^\d{10}-\d+-1$/);
    },
  );
});

describe('resident_sync, when no agent answers', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'resident-wait-'));
    mkdirSync(join(root, 'requests'));
    // A sleep that takes 0.25 s whatever it is asked: counted in polls, a 1 s wait would last 20 s.
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'bin', 'sleep'), '#!/bin/sh\nexec /bin/sleep 0.25\n');
    chmodSync(join(root, 'bin', 'sleep'), 0o755);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives up after its wait by the clock, however long each poll takes, and withdraws its request', async () => {
    const script = `PATH=${root}/bin:$PATH; ${residentSyncFunction({ requestsDir: join(root, 'requests'), waitSeconds: 1 })} resident_sync 0 cheap`;
    const started = performance.now();
    const status = await new Promise<number | null>((done) =>
      spawn('sh', ['-c', script], { stdio: 'ignore' }).on('close', (code) => done(code)),
    );
    const seconds = (performance.now() - started) / 1000;
    expect(status).toBe(250);
    expect(seconds).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(4);
    expect(readdirSync(join(root, 'requests'))).toEqual([]);
  });

  // A mount namespace needs root; under CI a missing one fails the test instead of skipping it.
  it.runIf(process.getuid?.() === 0 || process.env.CI === 'true')(
    'starts its clock at the first read of it that works, never at zero',
    async () => {
      // /proc/uptime reads empty for the function's first 0.3 s.
      const script = `${residentSyncFunction({ requestsDir: join(root, 'requests'), waitSeconds: 1 })} resident_sync 0 cheap`;
      const masked = 'mount --bind /dev/null /proc/uptime && { (sleep 0.3; umount /proc/uptime) & } && sh -c "$0"';
      const started = performance.now();
      const status = await new Promise<number | null>((done) =>
        spawn('unshare', ['-m', 'sh', '-c', masked, script], { stdio: 'ignore' }).on('close', (code) => done(code)),
      );
      expect(status).toBe(250);
      const seconds = (performance.now() - started) / 1000;
      expect(seconds).toBeGreaterThan(1.3);
      expect(seconds).toBeLessThan(4);
    },
  );
});
