// End to end on local mode: HTTP API → DynamoDB Local → its stream → fan-out → local dispatcher →
// the bundled agent in two cell namespaces → real traffic from containers to an external host.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentState } from '../../../agent/state.js';
import { bundleAgent } from '../../../bundling/agent-bundle.js';
import { silentLog } from '../../../core/log.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { agentProcessRunner } from '../../../local/cells/agent-process.js';
import type { LocalCell } from '../../../local/cells/local-cells.js';
import type { AgentRunner, AgentRunResult } from '../../../local/cells/local-dispatcher.js';
import {
  createLab,
  type Lab,
  type LabContainer,
  labAvailable,
  type ProbeResult,
} from '../../../local/lab/netns-lab.js';
import { type LocalMode, startLocalMode } from '../../../local/local-mode.js';
import { createTestTable } from '../../helpers/ddb.js';

/** Space A's GUID (the API takes GUID sources by default). */
const SPACE_A = '5a0e0000-0000-4000-8000-00000000000a';
const API = '/networking/v1/external';
const DB_OLD = '198.51.100.10';
const DB_NEW = '203.0.113.20';
const DB_PORT = 3306;
const BACKEND_APP = '887757be-5eda-48ce-b427-79dcc0705e91';
const FRONTEND_APP = 'f40be0e1-5a1b-4ef2-9c3b-2f0e1a1b2c3d';

describe.runIf(labAvailable())('propagation on local mode, two cells', () => {
  let lab: Lab;
  let local: LocalMode;
  let token: string;
  let workDir: string;
  let backend: LabContainer[];
  let frontend: LabContainer;
  /** Cells whose next command is lost, as if SSM never delivered it. */
  const dropNext = new Set<string>();
  /** The last agent run on each cell, as the dispatcher saw it. */
  const lastRuns = new Map<string, AgentRunResult>();
  let localCells: LocalCell[];
  let stateRoot: string;
  let realRunner: AgentRunner;

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${local.url}${API}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }

  /** Waits until every probe gives `expected` (enforcement is asynchronous), then returns the last results. */
  async function eventually(probes: (() => Promise<ProbeResult>)[], expected: ProbeResult): Promise<ProbeResult[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const results = await Promise.all(probes.map((probe) => probe()));
      if (results.every((result) => result === expected) || Date.now() > deadline) return results;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const toDb = (host: string) => backend.map((container) => () => lab.tcp(container, host, DB_PORT, 500));

  async function cells(): Promise<{
    current_version: number;
    cells: { name: string; applied_version: number; lag_versions: number }[];
  }> {
    return (await call('GET', '/cells')).body as never;
  }

  beforeAll(async () => {
    lab = await createLab({
      tag: 'prop',
      cells: [{ count: 2 }, { count: 1 }],
      external: { addresses: [DB_OLD, DB_NEW], tcpPorts: [DB_PORT] },
    });
    workDir = mkdtempSync(join(tmpdir(), 'egress-prop-'));
    const [cell0, cell1] = lab.cells;
    if (!cell0 || !cell1) throw new Error('lab has two cells');
    const [b0, f0] = cell0.containers;
    const [b1] = cell1.containers;
    if (!b0 || !f0 || !b1) throw new Error('lab containers');
    backend = [b0, b1];
    frontend = f0;
    const store = (entries: [LabContainer, string][]): string => {
      const file = join(workDir, `store-${entries[0]?.[0].cell}.json`);
      const content = Object.fromEntries(
        entries.map(([container, app], i) => [
          `h${i}`,
          { handle: `h${i}`, ip: container.ip, metadata: { app_id: app, space_id: SPACE_A, org_id: 'org' } },
        ]),
      );
      writeFileSync(file, JSON.stringify(content));
      return file;
    };
    localCells = [
      {
        name: 'cell-1',
        netns: cell0.ns,
        containers: store([
          [b0, BACKEND_APP],
          [f0, FRONTEND_APP],
        ]),
      },
      { name: 'cell-2', netns: cell1.ns, containers: store([[b1, BACKEND_APP]]) },
    ];
    const table = await createTestTable();
    const agentFile = await bundleAgent(join(workDir, 'agent'));
    stateRoot = join(workDir, 'cells');
    realRunner = agentProcessRunner({
      agentFile,
      tableName: table.tableName,
      dynamodbEndpoint: table.endpoint,
      stateRoot,
    });
    const runAgent: AgentRunner = async (cell, minVersion) => {
      if (dropNext.delete(cell.name)) return { ok: true, output: 'command lost (test)' };
      const result = await realRunner(cell, minVersion);
      lastRuns.set(cell.name, result);
      return result;
    };
    local = await startLocalMode({
      stateDir: workDir,
      port: 0,
      dynamodbEndpoint: table.endpoint,
      tableName: table.tableName,
      propagation: {
        cells: localCells,
        runAgent,
        // The tests run the periodic jobs themselves.
        republishIntervalMs: 3_600_000,
        resyncIntervalMs: 3_600_000,
        log: silentLog,
      },
    });
    token = await local.issuer.sign();
    await local.propagation?.dispatcher.idle();
  });

  afterAll(async () => {
    await local?.stop();
    await lab?.destroy();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('denies by default, then enforces a new policy on both cells without restarting anything', async () => {
    expect(await Promise.all(toDb(DB_OLD).map((probe) => probe()))).toEqual(['refused', 'refused']);

    const created = await call('POST', '/destinations', {
      destinations: [
        {
          name: 'MySQL',
          ips: [{ start: DB_OLD, end: DB_OLD }],
          ports: [{ start: DB_PORT, end: DB_PORT }],
          protocol: 'tcp',
        },
      ],
    });
    const dbId = (created.body as { destinations: { id: string }[] }).destinations[0]?.id;
    const policy = await call('POST', '/egress_policies', {
      egress_policies: [{ source: { type: 'app', id: BACKEND_APP }, destination: { id: dbId } }],
    });
    expect(policy.status).toBe(201);
    expect(await eventually(toDb(DB_OLD), 'open')).toEqual(['open', 'open']);
    // Only the backend app: the frontend on the same cell stays refused.
    expect(await lab.tcp(frontend, DB_OLD, DB_PORT, 500)).toBe('refused');
  });

  it('follows a destination to its new address: old refused, new open', async () => {
    const listed = (await call('GET', '/destinations?name=MySQL')).body as { destinations: Record<string, unknown>[] };
    const db = listed.destinations[0];
    const moved = await call('PUT', '/destinations', {
      destinations: [{ ...db, ips: [{ start: DB_NEW, end: DB_NEW }] }],
    });
    expect(moved.status).toBe(200);
    expect(await eventually(toDb(DB_NEW), 'open')).toEqual(['open', 'open']);
    expect(await Promise.all(toDb(DB_OLD).map((probe) => probe()))).toEqual(['refused', 'refused']);
  });

  it('shows every cell at the current version', async () => {
    await local.propagation?.dispatcher.idle();
    const status = await cells();
    expect(status.cells.map((cell) => [cell.name, cell.applied_version, cell.lag_versions]).sort()).toEqual([
      ['cell-1', status.current_version, 0],
      ['cell-2', status.current_version, 0],
    ]);
  });

  it('heals a cell that missed its command on the next periodic sync', async () => {
    dropNext.add('cell-2');
    const policies = (await call('GET', '/egress_policies')).body as { egress_policies: { id: string }[] };
    await call('DELETE', `/egress_policies/${policies.egress_policies[0]?.id}`);
    await local.propagation?.dispatcher.idle();
    // cell-1 got the command; cell-2 never did and still allows the old policy.
    expect(await eventually([toDb(DB_NEW)[0] as () => Promise<ProbeResult>], 'refused')).toEqual(['refused']);
    expect(await lab.tcp(backend[1] as LabContainer, DB_NEW, DB_PORT, 500)).toBe('open');
    const lagging = await cells();
    expect(lagging.cells.find((cell) => cell.name === 'cell-2')?.lag_versions).toBeGreaterThan(0);

    await local.propagation?.resync();
    expect(await eventually(toDb(DB_NEW), 'refused')).toEqual(['refused', 'refused']);
  });

  it('never rolls a cell back to the previous snapshot: keeps its cache, refuses without one', async () => {
    const documents = documentClient(local.dynamodb);
    const snapshots = new DynamoDbSnapshotStore(documents, local.tableName);
    const pointerKey = { pk: 'SNAPSHOT', sk: 'CURRENT' };
    const readPointerItem = async () =>
      (await documents.send(new GetCommand({ TableName: local.tableName, Key: pointerKey, ConsistentRead: true })))
        .Item;
    const previous = await readPointerItem();
    if (!previous) throw new Error('a snapshot was published by the earlier tests');

    const dbs = (await call('GET', '/destinations?name=MySQL')).body as { destinations: { id: string }[] };
    await call('POST', '/egress_policies', {
      egress_policies: [{ source: { type: 'space', id: SPACE_A }, destination: { id: dbs.destinations[0]?.id } }],
    });
    const allOpen = [...toDb(DB_NEW), () => lab.tcp(frontend, DB_NEW, DB_PORT, 500)];
    expect(await eventually(allOpen, 'open')).toEqual(['open', 'open', 'open']);
    await local.propagation?.dispatcher.idle();
    const current = await snapshots.readPointer();
    expect(current?.version).toBeGreaterThan(Number(previous.version));
    const before = await cells();
    expect(before.cells.map((cell) => cell.applied_version)).toEqual([current?.version, current?.version]);

    // The pointer goes back to the real previous pointer of this table (a late writer; a restored
    // backup is another table, another epoch: see the next test). Its version has no space policy:
    // applying it would cut every container off the database again.
    await documents.send(new PutCommand({ TableName: local.tableName, Item: previous }));
    const rolledBack = await snapshots.readPointer();
    expect(rolledBack?.version).toBe(Number(previous.version));

    // With their caches, cells keep enforcing the newer snapshot they applied.
    lastRuns.clear();
    await local.propagation?.dispatcher.syncCells(0);
    await local.propagation?.dispatcher.idle();
    for (const name of ['cell-1', 'cell-2']) {
      const run = lastRuns.get(name);
      expect(run).toMatchObject({ ok: true, version: current?.version });
      expect(run?.output).toMatch(/\(cache\)$/);
    }
    expect(await Promise.all(allOpen.map((probe) => probe()))).toEqual(['open', 'open', 'open']);
    const after = await cells();
    expect(after.cells.map((cell) => cell.applied_version)).toEqual(before.cells.map((cell) => cell.applied_version));

    // Without a usable cache (cell-1's is gone, cell-2's corrupt) the agent refuses the older
    // snapshot: it fails, leaves the rules in force alone, and keeps its recorded version.
    rmSync(join(stateRoot, 'cell-1', 'snapshot.json.gz'));
    writeFileSync(join(stateRoot, 'cell-2', 'snapshot.json.gz'), 'corrupt');
    for (const cell of localCells) {
      const run = await realRunner(cell, 0);
      expect(run.ok).toBe(false);
      expect(run.output).toContain(
        `refusing policy version ${rolledBack?.version}: this cell already applied version ${current?.version}`,
      );
      expect(new AgentState(join(stateRoot, cell.name)).applied()?.version).toBe(current?.version);
    }
    expect(await Promise.all(allOpen.map((probe) => probe()))).toEqual(['open', 'open', 'open']);
    expect((await cells()).cells.map((cell) => cell.applied_version)).toEqual(
      before.cells.map((cell) => cell.applied_version),
    );
  });

  it('takes the previous snapshot when another table published it, and the republish brings this table’s back', async () => {
    const documents = documentClient(local.dynamodb);
    const snapshots = new DynamoDbSnapshotStore(documents, local.tableName);
    const pointerKey = { pk: 'SNAPSHOT', sk: 'CURRENT' };
    const older = (
      await documents.send(new GetCommand({ TableName: local.tableName, Key: pointerKey, ConsistentRead: true }))
    ).Item;
    const current = (await cells()).cells[0]?.applied_version;
    if (!older || current === undefined) throw new Error('the previous test leaves the older pointer in place');
    expect(Number(older.version)).toBeLessThan(current);
    const allOpen = [...toDb(DB_NEW), () => lab.tcp(frontend, DB_NEW, DB_PORT, 500)];

    // The same older snapshot, as a table restored from this one's backup publishes it: another epoch.
    await documents.send(new PutCommand({ TableName: local.tableName, Item: { ...older, epoch: 'a-restored-table' } }));
    await local.propagation?.dispatcher.syncCells(0);
    await local.propagation?.dispatcher.idle();
    expect(await eventually(allOpen, 'refused')).toEqual(['refused', 'refused', 'refused']);
    for (const cell of localCells) {
      expect(new AgentState(join(stateRoot, cell.name)).applied()).toMatchObject({
        version: Number(older.version),
        epoch: 'a-restored-table',
      });
    }

    // This table's fan-out sees a pointer it did not publish and publishes its own state again.
    const republished = await local.propagation?.republish();
    expect(republished).toMatchObject({ version: current, written: true, cellsTold: true });
    await local.propagation?.dispatcher.idle();
    expect(await eventually(allOpen, 'open')).toEqual(['open', 'open', 'open']);
    expect(await snapshots.readPointer()).toMatchObject({ version: current, epoch: await snapshots.epoch() });
    expect((await cells()).cells.map((cell) => cell.applied_version)).toEqual([current, current]);
  });
});
