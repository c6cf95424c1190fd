// Runs the agent's convergence inside the local-mode process: the same code path as the bundled
// agent (`converge` → `sync` → iptables-restore in the cell's namespace), without the 0.3–0.6 s a
// fresh Node process spends loading the AWS SDK. Local mode's default; `EGRESS_LOCAL_AGENT=process`
// runs the bundled agent per sync instead, exactly as SSM does on a cell.
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { converge } from '../../agent/converge.js';
import { emptyKernelRunner, netnsRunner } from '../../agent/runner.js';
import type { SnapshotSource } from '../../agent/source/dynamodb.js';
import { readContainersFile } from '../../agent/source/files.js';
import { AgentState } from '../../agent/state.js';
import { DynamoDbCellStatusStore } from '../../core/store/cell-status-store.js';
import { DynamoDbSnapshotStore } from '../../core/store/snapshot-store.js';
import { documentClient } from '../../core/store/table-stores.js';
import type { LocalCell } from './local-cells.js';
import type { AgentRunner } from './local-dispatcher.js';

export interface InProcessAgentOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** Each cell keeps its applied state in <stateRoot>/<cell name>. */
  readonly stateRoot: string;
  /** @default '10.255.0.0/16' */
  readonly overlayCidr?: string;
}

export function inProcessAgentRunner(options: InProcessAgentOptions): AgentRunner {
  const documents = documentClient(options.dynamodb);
  const store = new DynamoDbSnapshotStore(documents, options.tableName);
  // Cells told about the same change read the same snapshot: fetch its chunks once, not once per
  // cell (each cell still reads the pointer, and still verifies the bytes against its checksum).
  let last: { sha256: string; bytes: Promise<Buffer> } | undefined;
  const snapshots: SnapshotSource = {
    readPointer: () => store.readPointer(),
    readBytes: (pointer) => {
      if (last?.sha256 !== pointer.sha256) {
        const bytes = store.readBytes(pointer);
        last = { sha256: pointer.sha256, bytes };
        bytes.catch(() => {
          if (last?.bytes === bytes) last = undefined;
        });
      }
      return last.bytes;
    },
  };
  const registry = new DynamoDbCellStatusStore(documents, options.tableName);
  return async (cell: LocalCell) => {
    try {
      const containers = await readContainersFile(cell.containers);
      const renderOnly = cell.netns === undefined;
      const result = await converge({
        source: snapshots,
        state: new AgentState(join(options.stateRoot, cell.name)),
        containers,
        cellName: cell.name,
        ...(renderOnly ? {} : { registry }),
        sync: {
          overlayCidr: options.overlayCidr ?? '10.255.0.0/16',
          dryRun: renderOnly,
          runner: cell.netns === undefined ? emptyKernelRunner : netnsRunner(cell.netns),
        },
      });
      const output = renderOnly
        ? `would apply:\n${result.sync.payload ?? '# nothing'}`
        : `${result.sync.changed ? 'rules changed' : 'no change'}, ${result.sync.stats.rules} rules (${result.origin})`;
      return { ok: true, version: result.version, output };
    } catch (error) {
      return { ok: false, output: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  };
}
