// A process that stays resident (local mode, running every cell's agent; `agent serve`, a cell's
// resident agent) grows large, and each sync starts a few iptables and ipset commands. Node starts a
// command by forking, and forking a process of a few hundred megabytes costs its main thread 2-8 ms
// (the page tables are copied): ten cells' commands per change are most of a change's time in local
// mode. A small helper process starts the commands instead: its forks are cheap and happen beside
// the main thread, which only passes a message each way.
import { type ChildProcess, spawn } from 'node:child_process';
import * as z from 'zod/mini';
import type { CommandResult, CommandRunner } from './runner.js';

// The helper: requests { id, command, args, input } in, results { id, code, stdout, stderr } out, over
// the IPC channel (asynchronous both ways, unlike a pipe to stdout). A missing binary is code 127, as
// with agent/runner.ts's spawnRunner. It exits when the parent goes.
const HELPER_SCRIPT = `
const { spawn } = require('node:child_process');
process.on('message', ({ id, command, args, input }) => {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout = []; const stderr = []; let settled = false;
  const settle = (code, error) => {
    if (settled) return; settled = true;
    process.send({ id, code, stdout: error === undefined ? Buffer.concat(stdout).toString('utf8') : '',
      stderr: error ?? Buffer.concat(stderr).toString('utf8') });
  };
  child.stdout.on('data', (chunk) => stdout.push(chunk));
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  child.on('error', (error) => settle(127, command + ': ' + error.message));
  child.on('close', (code, signal) => settle(code ?? (signal === null ? 1 : 128)));
  child.stdin.on('error', () => {});
  child.stdin.end(input ?? '');
});
process.on('disconnect', () => process.exit(0));
`;

const resultSchema = z.object({
  id: z.number(),
  code: z.number(),
  stdout: z.string(),
  stderr: z.string(),
});

export interface CommandHelper {
  /** Runs a command through the helper, started on first use (and again if it died). */
  readonly runner: CommandRunner;
  /** Ends the helper; commands still running get a failed result. */
  stop(): void;
}

export function startCommandHelper(): CommandHelper {
  let child: ChildProcess | undefined;
  let nextId = 1;
  const pending = new Map<number, (result: CommandResult) => void>();

  const failAll = (why: string): void => {
    for (const [id, resolve] of pending) {
      pending.delete(id);
      resolve({ code: 1, stdout: '', stderr: why });
    }
  };
  // An idle helper must not keep local mode (or a test) alive; a busy one must.
  const holdOpen = (open: boolean): void => {
    if (open) {
      child?.ref();
      child?.channel?.ref();
    } else {
      child?.unref();
      child?.channel?.unref();
    }
  };
  const started = (): ChildProcess => {
    if (child !== undefined) return child;
    const helper = spawn(process.execPath, ['-e', HELPER_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    helper.on('message', (message: unknown) => {
      const result = z.safeParse(resultSchema, message);
      if (!result.success) return;
      const { id, ...rest } = result.data;
      const resolve = pending.get(id);
      pending.delete(id);
      resolve?.(rest);
      if (pending.size === 0) holdOpen(false);
    });
    helper.on('exit', (code, signal) => {
      if (child === helper) child = undefined;
      failAll(`the command helper exited (${signal ?? code})`);
    });
    helper.on('error', (error) => {
      if (child === helper) child = undefined;
      failAll(`the command helper failed: ${error.message}`);
    });
    child = helper;
    return helper;
  };

  return {
    runner: (command, args, input) =>
      new Promise((resolve) => {
        const id = nextId;
        nextId += 1;
        pending.set(id, resolve);
        const helper = started();
        holdOpen(true);
        helper.send({ id, command, args, input: input ?? '' }, (error) => {
          if (error === null || !pending.has(id)) return;
          pending.delete(id);
          resolve({ code: 1, stdout: '', stderr: `the command helper did not take the command: ${error.message}` });
        });
      }),
    stop() {
      const helper = child;
      child = undefined;
      failAll('the command helper was stopped');
      helper?.kill();
    },
  };
}
