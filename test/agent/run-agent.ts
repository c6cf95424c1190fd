// Runs the real agent CLI inside a namespace (`ip netns exec <ns> node --import tsx bin/agent.ts ...`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ExecResult, run } from '../../local/lab/netns-lab.js';

const ENTRY = resolve(import.meta.dirname, '../../bin/agent.ts');

/** The command line running the agent CLI inside a namespace, as a cell's agent runs there. */
export function agentInNetns(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, process.execPath, '--import', 'tsx', ENTRY, ...argv];
}

/** Objects are written as JSON, strings verbatim (to feed malformed files). */
export async function runAgent(
  ns: string,
  policies: unknown,
  containers: unknown,
  extraArgs: readonly string[] = [],
): Promise<ExecResult> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-test-'));
  try {
    const policiesFile = join(dir, 'policies.json');
    const containersFile = join(dir, 'store.json');
    writeFileSync(policiesFile, typeof policies === 'string' ? policies : JSON.stringify(policies));
    writeFileSync(containersFile, typeof containers === 'string' ? containers : JSON.stringify(containers));
    return await run(
      agentInNetns(ns, ['sync', '--policies', policiesFile, '--containers', containersFile, ...extraArgs]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the real agent CLI on the host with `argv` as given (a `--netns` in it picks the kernel), `input` on stdin. */
export function runAgentCommand(argv: readonly string[], input?: string): Promise<ExecResult> {
  return run([process.execPath, '--import', 'tsx', ENTRY, ...argv], input);
}
