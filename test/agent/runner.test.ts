import { describe, expect, it } from 'vitest';
import { spawnRunner } from '../../agent/runner.js';

/** Keeps this process busy, as a sync is while it parses and plans. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('spawnRunner', () => {
  it('lets a child print megabytes while this process is busy (stdout is not a 64 KB pipe)', async () => {
    // The child prints 2 MB, then the time it finished, in milliseconds since the epoch.
    const running = spawnRunner('sh', [
      '-c',
      'head -c 2000000 /dev/zero | tr "\\0" x; echo $(($(date +%s%N) / 1000000)) >&2',
    ]);
    busyFor(1500);
    const busyUntil = Date.now();
    const result = await running;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('x'.repeat(2_000_000));
    // With a pipe the child would still be blocked on its first 64 KB when the busy spell ends.
    expect(Number(result.stderr.trim())).toBeLessThan(busyUntil);
  });

  it('lets a child read megabytes of stdin while this process is busy (large input comes from a file)', async () => {
    const input = `${'y'.repeat(2_000_000)}\n`;
    // The child counts what it read, then prints the time it finished, in milliseconds since the epoch.
    const running = spawnRunner('sh', ['-c', 'wc -c; echo $(($(date +%s%N) / 1000000)) >&2'], input);
    busyFor(1500);
    const busyUntil = Date.now();
    const result = await running;
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(String(input.length));
    // Through a pipe the child would still wait for all but its first 64 KB when the busy spell ends.
    expect(Number(result.stderr.trim())).toBeLessThan(busyUntil);
  });

  it('feeds stdin and returns the exit code', async () => {
    const result = await spawnRunner('sh', ['-c', 'cat; exit 3'], 'hello\n');
    expect(result).toEqual({ code: 3, stdout: 'hello\n', stderr: '' });
  });

  it('answers 127 for a missing binary', async () => {
    const result = await spawnRunner('/nonexistent/dyneg-binary', []);
    expect(result.code).toBe(127);
    expect(result.stdout).toBe('');
  });

  it('keeps the outputs of concurrent children apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, index) => spawnRunner('sh', ['-c', `printf 'child %s' ${index}`])),
    );
    expect(results.map((result) => result.stdout)).toEqual(Array.from({ length: 8 }, (_, index) => `child ${index}`));
  });
});
