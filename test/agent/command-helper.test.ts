// The command helper (local mode's cells, agent serve) against real processes: what a command prints and exits with comes
// back as spawnRunner gives it (a missing binary is 127, large input and output whole), commands run
// side by side, and a helper that dies fails what it was running and is started again on next use.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CommandHelper, startCommandHelper } from '../../agent/command-helper.js';
import { spawnRunner } from '../../agent/runner.js';

let helper: CommandHelper | undefined;
afterEach(() => {
  helper?.stop();
  helper = undefined;
});
const started = (): CommandHelper => {
  helper = startCommandHelper();
  return helper;
};

describe('startCommandHelper', () => {
  it('gives what spawnRunner gives: stdout, stderr, the exit code, 127 for a missing binary', async () => {
    const { runner } = started();
    const cases: [string, string[]][] = [
      ['sh', ['-c', 'echo out; echo err >&2; exit 3']],
      ['sh', ['-c', 'printf "%s" "$0"', 'an argument, never a shell word; $(true)']],
      ['/nonexistent/binary', []],
    ];
    for (const [command, args] of cases) {
      const direct = await spawnRunner(command, args);
      expect(await runner(command, args)).toEqual(direct);
    }
    expect((await runner('/nonexistent/binary', [])).code).toBe(127);
  });

  it('passes large input and output whole, and runs commands side by side', async () => {
    const { runner } = started();
    const input = `${'x'.repeat(99)}\n`.repeat(20_000); // 2 MB, far more than a pipe holds
    const echoed = await runner('cat', [], input);
    expect([echoed.code, echoed.stdout.length, echoed.stdout === input]).toEqual([0, input.length, true]);

    // The first waits (up to 5 s) for a file only the second one makes: one at a time, it fails.
    const flag = join(mkdtempSync(join(tmpdir(), 'helper-')), 'flag');
    const waiting = runner('sh', [
      '-c',
      'for i in $(seq 500); do [ -e "$0" ] && exit 0; sleep 0.01; done; exit 1',
      flag,
    ]);
    const making = runner('touch', [flag]);
    expect([(await waiting).code, (await making).code]).toEqual([0, 0]);
    rmSync(dirname(flag), { recursive: true, force: true });
  });

  it('fails the commands of a helper that died, and starts a new one for the next', async () => {
    const { runner } = started();
    const pid = Number((await runner('sh', ['-c', 'echo $PPID'])).stdout.trim());
    expect(pid).toBeGreaterThan(1);
    const running = runner('sleep', ['5']);
    // Let the command reach the helper before it is killed.
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(pid, 'SIGKILL');
    expect(await running).toMatchObject({ code: 1, stderr: expect.stringContaining('the command helper exited') });

    const again = await runner('sh', ['-c', 'echo $PPID']);
    expect(again.code).toBe(0);
    expect(Number(again.stdout.trim())).not.toBe(pid);
  });

  it('stop fails what still runs', async () => {
    const current = started();
    const running = current.runner('sleep', ['5']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    current.stop();
    expect(await running).toMatchObject({ code: 1, stderr: 'the command helper was stopped' });
  });
});
