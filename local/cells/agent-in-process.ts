// Runs the agent's convergence inside the local-mode process: the same cell agent as the bundled
// one (agent/cell-agent.ts: `converge` → `sync` → iptables-restore in the cell's namespace), without
// the 0.3–0.6 s a fresh Node process spends loading the AWS SDK. Local mode's default;
// `EGRESS_LOCAL_AGENT=process` runs the bundled agent per sync instead, exactly as SSM does on a cell.
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createCellAgent } from '../../agent/cell-agent.js';
import { agentTable } from '../../agent/policy-table.js';
import type { Verify } from '../../agent/recorded-sync.js';
import type { SnapshotSource } from '../../agent/source/dynamodb.js';
import { describeSync } from '../../agent/sync-summary.js';
import type { DenyNetworks } from '../../core/plan/plan.js';
import { documentClient } from '../../core/store/table-stores.js';
import type { CellProxies } from './cell-proxies.js';
import type { LocalCell } from './local-cells.js';
import type { AgentRunner } from './local-dispatcher.js';

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
}

export function inProcessAgentRunner(options: InProcessAgentOptions): AgentRunner {
  const table = agentTable(documentClient(options.dynamodb), options.tableName);
  const snapshots = sharedSnapshotBytes(table.snapshots);
  const proxyOf = (cell: LocalCell) => options.proxies?.optionsFor(cell);
  return async (cell: LocalCell, _minVersion: number, verify?: Verify) => {
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
        ...(proxy === undefined ? {} : { proxy }),
        ...(verify === undefined ? {} : { verify }),
      });
      const result = await agent.sync();
      const output = renderOnly ? `would apply:\n${result.sync.payload ?? '# nothing'}` : describeSync(result.summary);
      return { ok: true, version: result.version, output };
    } catch (error) {
      return { ok: false, output: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  };
}

/**
 * Cells told about the same change read the same snapshot: fetch its chunks once, not once per
 * cell (each cell still reads the pointer, and still verifies the bytes against its checksum).
 * Source shards are read as on a cell, each cell its own: a pointer of described changes names
 * no whole snapshot.
 */
function sharedSnapshotBytes(source: SnapshotSource): SnapshotSource {
  let last: { sha256: string; bytes: Promise<Buffer> } | undefined;
  const { readShards, readChanges } = source;
  return {
    ...(readShards === undefined ? {} : { readShards: (keys) => readShards.call(source, keys) }),
    ...(readChanges === undefined ? {} : { readChanges: (versions) => readChanges.call(source, versions) }),
    readPointer: () => source.readPointer(),
    readBytes: (pointer) => {
      if (last?.sha256 !== pointer.sha256) {
        const bytes = source.readBytes(pointer);
        last = { sha256: pointer.sha256, bytes };
        bytes.catch(() => {
          if (last?.bytes === bytes) last = undefined;
        });
      }
      return last.bytes;
    },
  };
}
