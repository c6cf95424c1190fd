// What a CLI command reads from, writes to, and the kernel it programs; tests pass their own.
import { type CommandRunner, netnsRunner, spawnRunner } from './runner.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Standard input, read only for `--policies -`. Omitted, `-` is refused. */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** @default spawnRunner (the real binaries) */
  readonly runner?: CommandRunner;
}

/** The runner of the kernel a command programs: the host's, or that of `--netns` (a validated name). */
export function cliRunner(io: CliIo, netns: string | undefined): CommandRunner {
  const runner = io.runner ?? spawnRunner;
  return netns === undefined ? runner : netnsRunner(netns, runner);
}
