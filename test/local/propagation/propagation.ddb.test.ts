// Local mode's propagation on DynamoDB Local with stand-in agents: what it does on start and on its
// two periodic jobs, the scheduled republish (the fan-out's own handler) and the full sync of every
// cell. The netns test runs the real agents.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLineLog } from '../../../core/log.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient, storesFor, type TableStores } from '../../../core/store/table-stores.js';
import type { LocalCell } from '../../../local/cells/local-cells.js';
import type { AgentRunner } from '../../../local/cells/local-dispatcher.js';
import { type LocalPropagation, startPropagation } from '../../../local/propagation/propagation.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';

const CELLS: LocalCell[] = [
  { name: 'cell-1', containers: '/unused/cell-1.json' },
  { name: 'cell-2', containers: '/unused/cell-2.json' },
];

let table: TestTable;
let stores: TableStores;
let workDir: string;
const running: LocalPropagation[] = [];

/** Agents that apply whatever is asked and remember it: [cell, minVersion, verify] per run. */
function recordingAgents(): { runs: [string, number, string?][]; runAgent: AgentRunner } {
  const runs: [string, number, string?][] = [];
  return {
    runs,
    runAgent: async (cell, minVersion, verify) => {
      runs.push([cell.name, minVersion, verify]);
      return { ok: true, version: minVersion, output: '' };
    },
  };
}

async function start(
  runAgent: AgentRunner,
  intervals: { republishIntervalMs: number; resyncIntervalMs: number },
  lines: Record<string, unknown>[] = [],
): Promise<LocalPropagation> {
  const propagation = await startPropagation({
    dynamodb: table.client,
    dynamodbEndpoint: table.endpoint,
    tableName: table.tableName,
    stores,
    cells: CELLS,
    runAgent,
    failedBatchesDir: join(workDir, 'failed-batches'),
    ...intervals,
    log: jsonLineLog({ service: 'test', write: (line) => lines.push(JSON.parse(line)) }),
  });
  running.push(propagation);
  return propagation;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  table = await createTestTable();
  stores = storesFor(table.client, table.tableName);
  workDir = mkdtempSync(join(tmpdir(), 'egress-propagation-'));
  // Written before local mode starts: no stream record will ever publish it.
  await stores.policies.createDestinations([tcpDestination('before-start')]);
});

afterAll(async () => {
  for (const propagation of running) await propagation.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('local propagation', () => {
  const hour = 3_600_000;

  it('on start publishes the missing snapshot, tells the cells, then syncs every cell', async () => {
    const version = await stores.policies.currentVersion();
    const snapshots = new DynamoDbSnapshotStore(documentClient(table.client), table.tableName);
    expect(await snapshots.readPointer()).toBeUndefined();
    const agents = recordingAgents();
    const propagation = await start(agents.runAgent, { republishIntervalMs: hour, resyncIntervalMs: hour });
    await propagation.dispatcher.idle();

    expect((await snapshots.readPointer())?.version).toBe(version);
    // Told the new version by the republish, then the full sync's MinVersion 0 (reading everything
    // back, as the association's Verify=full), coalesced behind it.
    expect(agents.runs).toEqual([
      ['cell-1', version, 'cheap'],
      ['cell-2', version, 'cheap'],
      ['cell-1', 0, 'full'],
      ['cell-2', 0, 'full'],
    ]);

    // The scheduled republish with nothing stale: no write, nobody told.
    agents.runs.length = 0;
    expect(await propagation.republish()).toEqual({ version, written: false, cellsBehind: 0, cellsTold: false });
    await propagation.dispatcher.idle();
    expect(agents.runs).toEqual([]);

    // The full sync: every cell, MinVersion 0, nothing published.
    await propagation.resync();
    await propagation.dispatcher.idle();
    expect(agents.runs).toEqual([
      ['cell-1', 0, 'full'],
      ['cell-2', 0, 'full'],
    ]);

    // And the stream path: a write reaches every cell at its version.
    agents.runs.length = 0;
    await stores.policies.createDestinations([tcpDestination('after-start')]);
    const next = await stores.policies.currentVersion();
    await until(() => agents.runs.length === 2, 'the cells to be told the new version');
    await propagation.dispatcher.idle();
    expect(agents.runs.sort()).toEqual([
      ['cell-1', next, 'cheap'],
      ['cell-2', next, 'cheap'],
    ]);
  });

  it('runs the republish handler and the full sync on their own intervals', async () => {
    const agents = recordingAgents();
    const lines: Record<string, unknown>[] = [];
    await start(agents.runAgent, { republishIntervalMs: 100, resyncIntervalMs: 150 }, lines);
    const republishes = () =>
      lines.filter((line) => String(line.message).startsWith('scheduled republish') && line.scheduledAt).length;
    const fullSyncs = () => agents.runs.filter(([cell, minVersion]) => cell === 'cell-2' && minVersion === 0).length;
    // One of each on start, then more from the timers.
    await until(() => republishes() >= 3 && fullSyncs() >= 3, 'the periodic jobs to run');
    expect(lines.find((line) => line.scheduledAt)).toMatchObject({
      level: 'INFO',
      written: false,
      scheduledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
  });
});
