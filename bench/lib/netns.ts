// Throw-away network namespaces for the benchmarks: each one is deleted when its body ends, throws,
// or the process is interrupted (SIGINT, SIGTERM), so a failed or stopped run leaves nothing behind.
import { spawnSync } from 'node:child_process';
import type { CommandRunner } from '../../agent/runner.js';
import { netnsRunner } from '../../agent/runner.js';
import { run } from '../../local/lab/netns-lab.js';

const live = new Set<string>();
let handlersInstalled = false;

function deleteLiveNamespaces(): void {
  for (const name of live) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  live.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      deleteLiveNamespaces();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.once('exit', deleteLiveNamespaces);
}

/** Runs `argv` and returns its stdout; throws with the command and its stderr when it fails. */
export async function must(argv: readonly string[], input?: string): Promise<string> {
  const result = await run(argv, input);
  if (result.code !== 0) throw new Error(`${argv.slice(0, 6).join(' ')} failed: ${result.stderr.trim().slice(0, 300)}`);
  return result.stdout;
}

/** `body` in a fresh namespace `name` (a leftover of that name is deleted first), deleted afterwards. */
export async function withNamespace<T>(
  name: string,
  body: (ns: string, runner: CommandRunner) => Promise<T>,
): Promise<T> {
  installHandlers();
  await run(['ip', 'netns', 'del', name]);
  await must(['ip', 'netns', 'add', name]);
  live.add(name);
  try {
    return await body(name, netnsRunner(name));
  } finally {
    await run(['ip', 'netns', 'del', name]);
    live.delete(name);
  }
}
