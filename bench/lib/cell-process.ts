// The agent as a cell runs it: the bundled `agent.mjs` in a fresh `node` process per sync (SSM and the
// path unit start one per command), so the figures include Node's start, the bundle's compilation
// and code that has not been optimised yet. The library figures of agent.bench.ts reuse one warm process.
// It syncs from files; a cell's `sync --from-dynamodb` also loads the AWS SDK and reads the table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAgent } from '../../bundling/agent-bundle.js';
import { run } from '../../local/lab/netns-lab.js';
import { timeMs } from './stats.js';

export interface CellProcessInputs {
  readonly policiesText: string;
  readonly changedText: string;
  readonly containersText: string;
}

export interface CellProcessRound {
  /** Into an empty namespace, no change, then one destination changed. */
  readonly full: number;
  readonly noChange: number;
  readonly changed: number;
  /** `node -e 0`: what any fresh process pays before the agent's first line. */
  readonly nodeAlone: number;
}

/** Runs a command to its end; the wall time in ms, or an error quoting its stderr. */
export async function timedRun(argv: readonly string[]): Promise<number> {
  const { ms, value: result } = await timeMs(() => run(argv));
  if (result.code !== 0) {
    throw new Error(`${argv.slice(0, 4).join(' ')} exited with ${result.code}: ${result.stderr.trim().slice(0, 300)}`);
  }
  return ms;
}

/** The bundled agent and its input files in a scratch directory; `close` removes them. */
export async function prepareCellProcess(inputs: CellProcessInputs): Promise<{
  /** One round in the namespace `ns`, which must hold none of the agent's rules yet. */
  round(ns: string): Promise<CellProcessRound>;
  close(): void;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'dyneg-bench-cell-'));
  const agent = await bundleAgent(join(dir, 'agent'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const policies = file('policies.json', inputs.policiesText);
  const changed = file('changed.json', inputs.changedText);
  const containers = file('containers.json', inputs.containersText);
  const syncOf = (ns: string, policiesPath: string) => [
    process.execPath,
    agent,
    'sync',
    '--policies',
    policiesPath,
    '--containers',
    containers,
    '--netns',
    ns,
  ];
  return {
    async round(ns) {
      const full = await timedRun(syncOf(ns, policies));
      const noChange = await timedRun(syncOf(ns, policies));
      const changedMs = await timedRun(syncOf(ns, changed));
      const nodeAlone = await timedRun([process.execPath, '-e', '0']);
      return { full, noChange, changed: changedMs, nodeAlone };
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
