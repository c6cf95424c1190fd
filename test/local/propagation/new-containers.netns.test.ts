// New and removed containers on local mode, with real traffic: a container written into its cell's
// containers file reaches what its app's policy allows within a second, and one removed from it is
// refused within a second, with no API call and no command: the watcher on the file syncs the cell.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../../core/log.js';
import { inProcessAgentRunner } from '../../../local/cells/agent-in-process.js';
import type { AgentRunner } from '../../../local/cells/local-dispatcher.js';
import {
  createLab,
  type Lab,
  type LabContainer,
  labAvailable,
  type ProbeResult,
} from '../../../local/lab/netns-lab.js';
import { type LocalMode, startLocalMode } from '../../../local/local-mode.js';
import { createTestTable } from '../../helpers/ddb.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';

const API = '/networking/v1/external';
const DB = '198.51.100.30';
const DB_PORT = 3306;
const BACKEND_APP = '887757be-5eda-48ce-b427-79dcc0705e91';
const WITHIN_MS = 1_000;

describe.runIf(labAvailable())('new and removed containers on local mode', () => {
  let lab: Lab;
  let local: LocalMode;
  let workDir: string;
  let storeFile: string;
  let listed: LabContainer;
  let added: LabContainer;
  /** Agent runs per cell: a change to the file must be the only thing that makes the cell sync. */
  let runs = 0;

  const entry = (container: LabContainer, handle: string) => ({
    handle,
    ip: container.ip,
    metadata: { app_id: BACKEND_APP, space_id: 'space-a', org_id: 'org' },
  });

  /** Replaces the file by rename, as an atomic writer (and CF's executor) does. */
  function replaceStore(content: Record<string, unknown>): void {
    writeFileSync(`${storeFile}.tmp`, JSON.stringify(content));
    renameSync(`${storeFile}.tmp`, storeFile);
  }

  /** Probes until `expected`, returning how long it took from `since`, or Infinity after 5 s. */
  async function timeUntil(probe: () => Promise<ProbeResult>, expected: ProbeResult, since: number): Promise<number> {
    for (;;) {
      const result = await probe();
      const elapsed = Date.now() - since;
      if (result === expected) return elapsed;
      if (elapsed > 5_000) return Number.POSITIVE_INFINITY;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeAll(async () => {
    lab = await createLab({ tag: 'newc', cells: [{ count: 2 }], external: { addresses: [DB], tcpPorts: [DB_PORT] } });
    const cell = firstCell(lab);
    [listed, added] = containersOf(cell, 2);
    workDir = mkdtempSync(join(tmpdir(), 'egress-newc-'));
    storeFile = join(workDir, 'store.json');
    replaceStore({ a: entry(listed, 'a') });
    const table = await createTestTable();
    let runner: AgentRunner = async () => ({ ok: false, output: 'DynamoDB is not up yet' });
    local = await startLocalMode({
      stateDir: workDir,
      port: 0,
      dynamodbEndpoint: table.endpoint,
      tableName: table.tableName,
      onDynamoDbReady: (_endpoint, dynamodb) => {
        runner = inProcessAgentRunner({ dynamodb, tableName: table.tableName, stateRoot: join(workDir, 'cells') });
      },
      propagation: {
        cells: [{ name: 'cell-1', netns: cell.ns, containers: storeFile }],
        runAgent: (localCell, minVersion) => {
          runs += 1;
          return runner(localCell, minVersion);
        },
        // Nothing periodic: only the watcher may sync the cell once the policy is in force.
        republishIntervalMs: 3_600_000,
        resyncIntervalMs: 3_600_000,
        log: silentLog,
      },
    });
    const token = await local.issuer.sign();
    const call = async (path: string, body: unknown) => {
      const response = await fetch(`${local.url}${API}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      return (await response.json()) as Record<string, { id: string }[]>;
    };
    const created = await call('/destinations', {
      destinations: [
        { name: 'db', ips: [{ start: DB, end: DB }], ports: [{ start: DB_PORT, end: DB_PORT }], protocol: 'tcp' },
      ],
    });
    await call('/egress_policies', {
      egress_policies: [
        { source: { type: 'app', id: BACKEND_APP }, destination: { id: created.destinations?.[0]?.id } },
      ],
    });
    expect(await timeUntil(() => lab.tcp(listed, DB, DB_PORT, 300), 'open', Date.now())).toBeLessThan(20_000);
    await local.propagation?.dispatcher.idle();
  });

  afterAll(async () => {
    await local?.stop();
    await lab?.destroy();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('opens what the policy allows to a container written into the file, within a second, without a command', async () => {
    // Unlisted, the second container of the same app is refused (the agent fails closed).
    expect(await lab.tcp(added, DB, DB_PORT, 300)).toBe('refused');
    const before = runs;
    const since = Date.now();
    replaceStore({ a: entry(listed, 'a'), b: entry(added, 'b') });
    const elapsed = await timeUntil(() => lab.tcp(added, DB, DB_PORT, 300), 'open', since);
    expect(elapsed).toBeLessThan(WITHIN_MS);
    await local.propagation?.dispatcher.idle();
    expect(runs).toBeGreaterThan(before);
    expect(await lab.tcp(listed, DB, DB_PORT, 300)).toBe('open');
  });

  it('refuses a container removed from the file within a second (written in place this time)', async () => {
    const since = Date.now();
    writeFileSync(storeFile, JSON.stringify({ a: entry(listed, 'a') }));
    const elapsed = await timeUntil(() => lab.tcp(added, DB, DB_PORT, 300), 'refused', since);
    expect(elapsed).toBeLessThan(WITHIN_MS);
    expect(await lab.tcp(listed, DB, DB_PORT, 300)).toBe('open');
  });

  it('stops watching on stop(): a later change syncs nothing', async () => {
    await local.propagation?.stop();
    const before = runs;
    replaceStore({ a: entry(listed, 'a'), b: entry(added, 'b') });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).toBe(before);
    expect(await lab.tcp(added, DB, DB_PORT, 300)).toBe('refused');
  });
});
