// Local mode's cell logging against a real kernel: a lab cell programmed by the real agent, the ulogd
// and forwarder that startCellLogging runs for a cell naming a "log" file, a refused connection → one
// enriched line in that file; stop ends ulogd in the namespace.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../../core/log.js';
import { type CellLogging, startCellLogging } from '../../../local/cells/cell-logging.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { policyList } from '../../agent/fixtures.js';
import { runAgentCommand } from '../../agent/run-agent.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';

const PROJECT = resolve(import.meta.dirname, '../../..');
const EXTERNAL = '198.51.100.10';
const PORT = 9000;

/** Like labAvailable: under CI=true a missing ulogd fails the file instead of skipping it. */
function ulogdAvailable(): boolean {
  const result = spawnSync('ulogd', ['--version'], { stdio: 'ignore' });
  if (result.error === undefined && result.status === 0) return true;
  if (process.env.CI === 'true')
    throw new Error('cell logging test prerequisites missing: ulogd (apt-get install ulogd2)');
  console.warn('cell logging tests not run: ulogd is missing (apt-get install ulogd2)');
  return false;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe.runIf(labAvailable() && ulogdAvailable())('local cell logging', () => {
  let lab: Lab;
  let cell: string;
  let container: LabContainer;
  let logging: CellLogging | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cell-logging-'));
  const store = join(dir, 'store.json');
  const logFile = join(dir, 'cell-1.log');

  beforeAll(async () => {
    lab = await createLab({
      tag: 'celllog',
      cells: [{ ips: ['10.255.1.2'] }],
      external: { addresses: [EXTERNAL], tcpPorts: [PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [container] = containersOf(cellInfo, 1);
    writeFileSync(
      store,
      JSON.stringify({
        h1: { handle: 'h1', ip: container.ip, metadata: { app_id: 'app-1', space_id: 'space-1', org_id: 'org-1' } },
      }),
    );
    const synced = await runAgentCommand(
      ['sync', '--policies', '-', '--containers', store, '--netns', cell],
      JSON.stringify(policyList([])),
    );
    expect([synced.code, synced.stderr]).toEqual([0, '']);
  }, 60_000);

  afterAll(async () => {
    await logging?.stop();
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("appends one enriched line per refused connection to the cell's log file, and stops its ulogd", async () => {
    logging = await startCellLogging({
      cells: [{ name: 'cell-1', netns: cell, containers: store, log: logFile }],
      dir: join(dir, 'state'),
      log: silentLog,
    });
    // ulogd binds its group a moment after it starts: probe until a refused connection is logged.
    const deadline = Date.now() + 10_000;
    while (!existsSync(logFile) && Date.now() < deadline) {
      expect(await lab.tcp(container, EXTERNAL, PORT)).toBe('refused');
      await sleep(1100); // the rule logs one line per second per container
    }
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      message: 'dynamic-egress.egress-denied',
      data: {
        packet: { src_ip: container.ip, dst_ip: EXTERNAL, dst_port: PORT, protocol: 'TCP' },
        source: { container_id: 'h1', app_guid: 'app-1', space_guid: 'space-1', organization_guid: 'org-1' },
      },
    });
    await logging.stop();
    logging = undefined;
    // No process is left in the cell's namespace (ulogd was its only one).
    expect(spawnSync('ip', ['netns', 'pids', cell], { encoding: 'utf8' }).stdout.trim()).toBe('');
  });

  it('ends its ulogd when the process that started it is killed with SIGKILL (no stop() runs then)', async () => {
    const owner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { startCellLogging } = await import('./local/cells/cell-logging.ts');
         const { silentLog } = await import('./core/log.ts');
         await startCellLogging({
           cells: [{ name: 'cell-1', netns: ${JSON.stringify(cell)}, containers: ${JSON.stringify(store)}, log: ${JSON.stringify(logFile)} }],
           dir: ${JSON.stringify(join(dir, 'owned'))},
           log: silentLog,
         });
         console.log('started');
         setInterval(() => undefined, 1000);`,
      ],
      { cwd: PROJECT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pidsInCell = (): string => spawnSync('ip', ['netns', 'pids', cell], { encoding: 'utf8' }).stdout.trim();
    try {
      await new Promise<void>((done, fail) => {
        let output = '';
        owner.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('started')) done();
        });
        owner.once('exit', (code) => fail(new Error(`exited with ${code}: ${output}`)));
      });
      // ulogd is spawned, not awaited, by the start: on a loaded machine it may take a moment to show.
      const started = Date.now() + 10_000;
      while (pidsInCell() === '' && Date.now() < started) await sleep(100);
      expect(pidsInCell()).not.toBe('');
      owner.kill('SIGKILL');
      const deadline = Date.now() + 10_000;
      while (pidsInCell() !== '' && Date.now() < deadline) await sleep(100);
      expect(pidsInCell()).toBe('');
    } finally {
      owner.kill('SIGKILL');
      for (const pid of pidsInCell().split('\n').filter(Boolean)) spawnSync('kill', ['-KILL', pid]);
    }
  });
});
