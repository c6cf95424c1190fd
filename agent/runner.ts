// The one seam to the outside world: running a command with optional stdin. Tests inject a fake.
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (command: string, args: readonly string[], input?: string) => Promise<CommandResult>;

/** Runs the real binary. A missing binary resolves with code 127 rather than throwing. */
export const spawnRunner: CommandRunner = (command, args, input) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => resolve({ code: 127, stdout: '', stderr: `${command}: ${error.message}` }));
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal === null ? 1 : 128),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {
      // The process may exit before reading all input; its exit code tells the story.
    });
    child.stdin.end(input ?? '');
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
