// The one seam to the outside world: running a command with optional stdin. Tests inject a fake.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (command: string, args: readonly string[], input?: string) => Promise<CommandResult>;

/**
 * Where children write their stdout (and read large stdin, below): a private temporary file rather
 * than a pipe. A pipe holds
 * 64 KB; a child printing more (iptables-save of a large ruleset prints a megabyte) stalls until
 * this process reads, and the agent reads the kernel exactly while it is busy parsing and planning
 * (measured: iptables-save 150-190 ms alone, 320 ms beside a plan). A file never makes it wait.
 */
let privateDirectory: string | undefined;
let privateCount = 0;

function openPrivateFile(): { path: string; fd: number } | undefined {
  try {
    if (privateDirectory === undefined) {
      privateDirectory = mkdtempSync(join(tmpdir(), 'dyneg-out-'));
      const directory = privateDirectory;
      process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
    }
    privateCount += 1;
    const path = join(privateDirectory, String(privateCount));
    return { path, fd: openSync(path, 'wx', 0o600) };
  } catch {
    return undefined; // No writable temporary directory: a pipe still works.
  }
}

/**
 * Input larger than a pipe holds goes to the child from a temporary file, for the same reason the
 * other way round: a child started while this process plans (early set creation, sync.ts) reads
 * all of it at once instead of waiting for the event loop to feed a full pipe.
 */
const PIPE_CAPACITY = 64 * 1024;

function inputFile(input: string): { path: string; fd: number } | undefined {
  if (input.length < PIPE_CAPACITY) return undefined;
  const file = openPrivateFile();
  if (file === undefined) return undefined;
  try {
    writeFileSync(file.fd, input);
    closeSync(file.fd);
    return { path: file.path, fd: openSync(file.path, 'r') };
  } catch {
    closeSync(file.fd);
    rmSync(file.path, { force: true });
    return undefined; // A pipe still works.
  }
}

function discard(file: { path: string; fd: number }): void {
  closeSync(file.fd);
  rmSync(file.path, { force: true });
}

function takeOutput(file: { path: string; fd: number }): string {
  try {
    return readFileSync(file.path, 'utf8');
  } finally {
    closeSync(file.fd);
    rmSync(file.path, { force: true });
  }
}

/** Runs the real binary. A missing binary resolves with code 127 rather than throwing. */
export const spawnRunner: CommandRunner = (command, args, input) =>
  new Promise((resolve) => {
    const file = openPrivateFile();
    const fromFile = inputFile(input ?? '');
    const child = spawn(command, args, { stdio: [fromFile?.fd ?? 'pipe', file?.fd ?? 'pipe', 'pipe'] });
    // The child has its own descriptor of the file from here on: close and unlink ours.
    if (fromFile !== undefined) discard(fromFile);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    // stdin and stderr are pipes (asked for above); stdout is one only without a file.
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A failed spawn may report both 'error' and 'close': the first one settles the call.
    let settled = false;
    const settle = (code: number, stderrText?: string): void => {
      if (settled) return;
      settled = true;
      const out = file === undefined ? Buffer.concat(stdout).toString('utf8') : takeOutput(file);
      resolve({
        code,
        stdout: stderrText === undefined ? out : '',
        stderr: stderrText ?? Buffer.concat(stderr).toString('utf8'),
      });
    };
    child.on('error', (error) => settle(127, `${command}: ${error.message}`));
    child.on('close', (code, signal) => settle(code ?? (signal === null ? 1 : 128)));
    child.stdin?.on('error', () => {
      // The process may exit before reading all input; its exit code tells the story.
    });
    if (fromFile === undefined) child.stdin?.end(input ?? '');
  });

/**
 * Runs every command inside a network namespace (`ip netns exec NS …`). Local cells only; the
 * caller validates the name (it is an argument, never a shell word).
 */
export function netnsRunner(netns: string, runner: CommandRunner = spawnRunner): CommandRunner {
  return (command, args, input) => runner('ip', ['netns', 'exec', netns, command, ...args], input);
}

/** A kernel with none of our rules or sets: a dry run against it prints the whole ruleset. */
export const emptyKernelRunner: CommandRunner = async (command) => ({
  code: 0,
  stdout: command === 'iptables-save' ? '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' : '',
  stderr: '',
});
