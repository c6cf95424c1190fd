// Runs the agent's convergence inside the local-mode process: the same cell agent as the bundled
// one (agent/cell-agent.ts: `converge` → `sync` → iptables-restore in the cell's namespace), without
// the 0.3–0.6 s a fresh Node process spends loading the AWS SDK. Local mode's default;
// `EGRESS_LOCAL_AGENT=process` runs the bundled agent per sync instead, exactly as SSM does on a cell.
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createCellAgent } from '../../agent/cell-agent.js';
import { agentTable } from '../../agent/policy-table.js';
import type { Verify } from '../../agent/recorded-sync.js';
import type { CommandRunner } from '../../agent/runner.js';
import { SyncMemory } from '../../agent/sync-memory.js';
import { describeSync } from '../../agent/sync-summary.js';
import type { DenyNetworks } from '../../core/plan/plan.js';
import { documentClient } from '../../core/store/table-stores.js';
import type { CellProxies } from './cell-proxies.js';
import type { LocalCell } from './local-cells.js';
import type { AgentRunner } from './local-dispatcher.js';
import { SharedTableReads } from './shared-table-reads.js';

export interface InProcessAgentOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** Each cell keeps its applied state in <stateRoot>/<cell name>. */
  readonly stateRoot: string;
  /** @default DEFAULT_OVERLAY_CIDR (core/plan/plan.ts) */
  readonly overlayCidr?: string;
  /** The agent's --deny-networks. @default none */
  readonly denyNetworks?: DenyNetworks;
  /** Each namespace cell's proxy (cell-proxies.ts); omitted, none. */
  readonly proxies?: Pick<CellProxies, 'optionsFor'>;
  /** Runs the kernel commands (inside each cell's namespace). @default spawnRunner; local mode passes its command helper (agent/command-helper.ts) */
  readonly runner?: CommandRunner;
}

export function inProcessAgentRunner(options: InProcessAgentOptions): AgentRunner {
  const table = agentTable(documentClient(options.dynamodb), options.tableName);
  const reads = new SharedTableReads(table.snapshots);
  const proxyOf = (cell: LocalCell) => options.proxies?.optionsFor(cell);
  // Each cell's planner work, kept from one of its syncs to the next (the dispatcher runs one sync of
  // a cell at a time): a change re-plans only the sources it touched.
  const memories = new Map<string, SyncMemory>();
  const memoryOf = (cell: LocalCell): SyncMemory => {
    let memory = memories.get(cell.name);
    if (memory === undefined) {
      memory = new SyncMemory();
      memories.set(cell.name, memory);
    }
    return memory;
  };
  // What each dry-run cell last logged: the same ruleset again (start-up's republish and resync,
  // each periodic resync) is said in one line instead of the whole ruleset.
  const lastRendered = new Map<string, string>();
  return async (cell: LocalCell, _minVersion: number, verify?: Verify) => {
    const snapshots = reads.forRun(performance.now());
    try {
      // The dry-run cell (no namespace) renders the whole ruleset, as the bundled agent's --render-only.
      const renderOnly = cell.netns === undefined;
      const proxy = proxyOf(cell);
      const agent = createCellAgent({
        snapshots,
        registry: table.registry,
        stateDir: join(options.stateRoot, cell.name),
        cellName: cell.name,
        containersFile: cell.containers,
        overlayCidr: options.overlayCidr,
        ...(options.denyNetworks === undefined ? {} : { denyNetworks: options.denyNetworks }),
        mode: renderOnly ? 'render-only' : 'apply',
        netns: cell.netns,
        ...(options.runner === undefined ? {} : { runner: options.runner }),
        ...(proxy === undefined ? {} : { proxy }),
        ...(verify === undefined ? {} : { verify }),
        memory: memoryOf(cell),
      });
      const result = await agent.sync();
      let output = renderOnly ? `would apply:\n${result.sync.payload ?? '# nothing'}` : describeSync(result.summary);
      if (renderOnly) {
        const same = lastRendered.get(cell.name) === output;
        lastRendered.set(cell.name, output);
        if (same) output = `would apply: the same ruleset as logged before (version ${result.version})`;
      }
      return { ok: true, version: result.version, output };
    } catch (error) {
      return { ok: false, output: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  };
}
