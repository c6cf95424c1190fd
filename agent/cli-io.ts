// What a CLI command writes to, and the kernel it programs; tests pass their own.
import type { CommandRunner } from './runner.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** @default spawnRunner (the real binaries) */
  readonly runner?: CommandRunner;
}
