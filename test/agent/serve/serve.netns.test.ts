// `agent serve` as a cell runs it: a real agent process on DynamoDB Local programming a real cell
// namespace, reached through the very sh function the SSM step and the containers-file service use
// (lib/cell-resident.ts). Real tcp connections from the cell's containers; the kernel it leaves is
// the one a fresh `sync --from-dynamodb` leaves.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentState } from '../../../agent/state.js';
import { readSyncedLine } from '../../../agent/sync-summary.js';
import { type ServeProcess, startServe } from '../../../bench/lib/serve-process.js';
import { DynamoDbPolicyStore } from '../../../core/store/dynamodb-policy-store.js';
import { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { publishSnapshot } from '../../../lambdas/fanout/snapshot-publisher.js';
import { NOT_ANSWERED, residentSyncFunction } from '../../../lib/cell-resident.js';
import { createLab, type Lab, type LabContainer, labAvailable, run } from '../../../local/lab/netns-lab.js';
import { createTestTable, stubAgentTableEnv, type TestTable } from '../../helpers/ddb.js';
import { tcpDestination } from '../../helpers/fixtures.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';
import { publishedState } from '../../helpers/published-state.js';
import { startSilentTable } from '../../helpers/silent-table.js';
import { containerStore } from '../fixtures.js';
import { ownedFilterState, ownedRulesAndSets, plantedRedirects } from '../kernel-state.js';
import { runAgentCommand } from '../run-agent.js';

const ENTRY = resolve(import.meta.dirname, '../../../bin/agent.ts');
const EXTERNAL = '198.51.100.10';
const FIRST_PORT = 8000;
const SECOND_PORT = 9000;

describe.runIf(labAvailable())('agent serve: the resident agent of a cell', () => {
  let table: TestTable;
  let policies: DynamoDbPolicyStore;
  let lab: Lab;
  let cell: string;
  let container: LabContainer;
  let agent: ServeProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'agent-serve-'));
  const requests = join(dir, 'requests');
  const stateDir = join(dir, 'state');
  const storeFile = join(dir, 'store.json');
  const tableFlags = () => ['--table', table.tableName, '--containers', storeFile, '--cell-name', 'cell-1'];

  const publish = async () => {
    const documents = documentClient(table.client);
    return publishSnapshot(
      publishedState(policies, documents, table.tableName),
      new DynamoDbSnapshotStore(documents, table.tableName),
    );
  };
  const allow = async (port: number) => {
    const [destination] = await policies.createDestinations([
      tcpDestination(`port-${port}`, { ports: [{ start: port, end: port }] }),
    ]);
    await policies.createEgressPolicies([
      { source: { type: 'app', id: 'app-a' }, destination: { id: destination?.id ?? '' } },
    ]);
    return (await publish()).version;
  };

  /** What the SSM step does: the sh function, then its exit code. */
  const residentSync = (minVersion: number, verify = 'cheap', waitSeconds = 30, unknownSources = '') =>
    run([
      'sh',
      '-c',
      `${residentSyncFunction({ requestsDir: requests, waitSeconds })} resident_sync ${minVersion} ${verify} ${unknownSources}`,
    ]);
  const startAgent = async (
    lockWait = '5',
    extra: { syncTimeout?: string; env?: NodeJS.ProcessEnv; flags?: readonly string[] } = {},
  ) => {
    agent = await startServe(
      [
        '--import',
        'tsx',
        ENTRY,
        'serve',
        ...tableFlags(),
        '--state-dir',
        stateDir,
        '--netns',
        cell,
        '--requests',
        requests,
        '--lock-wait',
        lockWait,
        ...(extra.syncTimeout === undefined ? [] : ['--sync-timeout', extra.syncTimeout]),
        ...(extra.flags ?? []),
      ],
      { ...process.env, ...extra.env },
    );
  };
  const stopAgent = async () => {
    const running = agent;
    agent = undefined;
    return running === undefined ? null : running.stop();
  };
  const reach = async () => ({
    first: await lab.tcp(container, EXTERNAL, FIRST_PORT),
    second: await lab.tcp(container, EXTERNAL, SECOND_PORT),
  });
  const summaryOf = (stdout: string) => readSyncedLine(stdout.trimEnd().split('\n').at(-1) ?? '');

  beforeAll(async () => {
    table = await createTestTable();
    // The agent builds its client from the environment, as on a cell.
    stubAgentTableEnv(table);
    policies = new DynamoDbPolicyStore({ client: documentClient(table.client), tableName: table.tableName });
    lab = await createLab({
      tag: 'serve',
      cells: [{ ips: ['10.255.1.2'] }],
      external: { addresses: [EXTERNAL], tcpPorts: [FIRST_PORT, SECOND_PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [container] = containersOf(cellInfo, 1);
    writeFileSync(
      storeFile,
      JSON.stringify(containerStore([{ ip: container.ip, appId: 'app-a', spaceId: 'space-1' }])),
    );
    await startAgent();
  });
  afterAll(async () => {
    await stopAgent();
    vi.unstubAllEnvs();
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs on request, answers with the summary and exit 0, and leaves nothing in its folder', async () => {
    const version = await allow(FIRST_PORT);
    const result = await residentSync(version);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(summaryOf(result.stdout)).toMatchObject({ version, changed: true, applied: true, containers: 1 });
    expect(await reach()).toEqual({ first: 'open', second: 'refused' });
    expect(readdirSync(requests)).toEqual([]);
    // Nothing changed: answered from the kernel's record.
    expect(summaryOf((await residentSync(version)).stdout)).toMatchObject({ version, changed: false });
  });

  it('applies a change with the plan it kept, leaving the kernel a fresh sync leaves', async () => {
    const version = await allow(SECOND_PORT);
    const result = await residentSync(version, 'full');
    expect(result.code).toBe(0);
    expect(summaryOf(result.stdout)).toMatchObject({ version, changed: true });
    expect(await reach()).toEqual({ first: 'open', second: 'open' });
    const served = await ownedFilterState(lab, cell);
    // A fresh process on the same inputs: a full read-back finds nothing to repair, and the rules match.
    const fresh = await runAgentCommand([
      'sync',
      '--from-dynamodb',
      ...tableFlags(),
      '--state-dir',
      join(dir, 'fresh-state'),
      '--netns',
      cell,
      '--verify',
      'full',
    ]);
    expect(fresh.stderr).toBe('');
    expect(summaryOf(fresh.stdout)).toMatchObject({ version, changed: false });
    expect(await ownedFilterState(lab, cell)).toBe(served);
  });

  it('checks the kernel whole on its first sync after a start: a drift a cheap check misses is repaired', async () => {
    const applied = await ownedFilterState(lab, cell);
    // A rule deleted inside a container chain: the kernel's record still holds (agent.md, Fast syncs).
    const chain = applied
      .split('\n')
      .find((line) => line.startsWith(':dyneg-c-'))
      ?.slice(1)
      .split(' ')[0];
    expect(chain).toBeDefined();
    const drift = async () => {
      await lab.execOk(cell, ['iptables', '-w', '-D', chain ?? '', '2']);
      expect(await ownedFilterState(lab, cell)).not.toBe(applied);
    };
    await drift();
    expect(summaryOf((await residentSync(0)).stdout)).toMatchObject({ changed: false });
    expect(await ownedFilterState(lab, cell)).not.toBe(applied);
    await stopAgent();
    await startAgent();
    expect(summaryOf((await residentSync(0)).stdout)).toMatchObject({ changed: true });
    expect(await ownedFilterState(lab, cell)).toBe(applied);
    // After that first sync, cheap requests trust the record again.
    await drift();
    expect(summaryOf((await residentSync(0)).stdout)).toMatchObject({ changed: false });
    expect((await residentSync(0, 'full')).code).toBe(0);
    expect(await ownedFilterState(lab, cell)).toBe(applied);
  });

  it('warns a request that asked for a newer version than the table offers, as the fresh sync does', async () => {
    const result = await residentSync(999_999);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^warning: asked for policy version >= 999999, the table offers \d+; applied that\n$/,
    );
  });

  it('leaves a request with another unknown-sources setting to its caller (NOT_ANSWERED), syncing nothing; serves its own', async () => {
    const [destination] = await policies.createDestinations([
      tcpDestination('unknown-sources-case', { ports: [{ start: SECOND_PORT, end: SECOND_PORT }] }),
    ]);
    await policies.createEgressPolicies([
      { source: { type: 'app', id: 'app-a' }, destination: { id: destination?.id ?? '' } },
    ]);
    const { version } = await publish();
    const before = await ownedRulesAndSets(cell);
    const other = await residentSync(version, 'cheap', 30, 'allow');
    expect([other.code, other.stdout, other.stderr]).toEqual([NOT_ANSWERED, '', '']);
    expect(await ownedRulesAndSets(cell)).toBe(before);
    expect(readdirSync(requests)).toEqual([]);
    // The agent runs with the default, reject: a request naming it is served.
    const own = await residentSync(version, 'cheap', 30, 'reject');
    expect([own.code, own.stderr]).toEqual([0, '']);
    expect(summaryOf(own.stdout)).toMatchObject({ version, changed: true });
  });

  it('refuses a request that is not one with exit 2, syncing nothing', async () => {
    // Written whole, as clients write requests (a rename): the agent may look at any moment.
    writeFileSync(join(requests, '.bad-1.tmp'), 'all of it\n');
    renameSync(join(requests, '.bad-1.tmp'), join(requests, 'bad-1.request'));
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(requests, 'bad-1.code')) && Date.now() < deadline)
      await new Promise((done) => setTimeout(done, 20));
    const code = await run(['cat', join(requests, 'bad-1.code'), join(requests, 'bad-1.err')]);
    expect(code.stdout).toBe(
      '2\nerror: bad request: a request is "<min-version> <cheap|full> [reject|allow]", got "all of it\\n"\n',
    );
    rmSync(join(requests, 'bad-1.code'));
    rmSync(join(requests, 'bad-1.out'));
    rmSync(join(requests, 'bad-1.err'));
  });

  it('holds the cell’s sync lock: while another sync holds it, the request fails with exit 3 after --lock-wait', async () => {
    await stopAgent();
    await startAgent('1');
    // Its own process group: killing it must take sleep too, which holds the lock as well.
    const holder = spawn('flock', [join(stateDir, 'sync.lock'), 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      await new Promise((done) => setTimeout(done, 200));
      const result = await residentSync(0);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^error: cannot take the sync lock .*sync\.lock: another sync held it for 1 s/);
    } finally {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    }
    // Freed: the next request syncs.
    await new Promise((done) => setTimeout(done, 200));
    expect((await residentSync(0)).code).toBe(0);
  });

  it('stopping while it waits for the lock: its callers are told NOT_ANSWERED (and sync themselves), and it exits 0', async () => {
    await stopAgent();
    await startAgent('30');
    const holder = spawn('flock', [join(stateDir, 'sync.lock'), 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      await new Promise((done) => setTimeout(done, 200));
      const waiting = residentSync(0);
      await new Promise((done) => setTimeout(done, 500));
      const stoppedAt = performance.now();
      expect(await stopAgent()).toBe(0);
      expect(await waiting).toEqual({ code: NOT_ANSWERED, stdout: '', stderr: '' });
      expect(performance.now() - stoppedAt).toBeLessThan(2000);
      // Its wait for the lock ended with it.
      expect(spawnSync('pgrep', ['-f', `^flock -w 30 ${join(stateDir, 'sync.lock')} cat$`]).status).toBe(1);
    } finally {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    }
    await new Promise((done) => setTimeout(done, 200));
    await startAgent();
    expect((await residentSync(0)).code).toBe(0);
  });

  it("a lock lost while its sync runs (its holder process killed): exit 3 saying so, whatever the sync did, and the proxy's redirects go", async () => {
    await stopAgent();
    const silent = await startSilentTable();
    const lockFile = join(stateDir, 'sync.lock');
    await lab.execOk(cell, ['iptables-restore', '--noflush'], plantedRedirects(container.ip));
    const proxyFlags = ['--proxy-dir', join(dir, 'proxy'), '--proxy-nameservers', '192.0.2.53'];
    try {
      await startAgent('5', { env: { AWS_ENDPOINT_URL_DYNAMODB: silent.endpoint }, flags: proxyFlags });
      const answered = residentSync(0);
      // The sync holds the lock and waits on the silent table; the shell holding the lock is killed.
      const deadline = Date.now() + 10_000;
      while (spawnSync('flock', ['-n', lockFile, 'true']).status === 0 && Date.now() < deadline)
        await new Promise((done) => setTimeout(done, 20));
      expect(spawnSync('pkill', ['-KILL', '-f', `dynamic-egress-sync-lock ${lockFile}$`]).status).toBe(0);
      // The table goes away: the sync fails fast now.
      silent.close();
      const result = await answered;
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(
        "error: the cell's sync lock was freed while this sync ran (the process holding it ended): another sync may have run beside it; the next sync reads the kernel back whole\n",
      );
      expect(await lab.execOk(cell, ['iptables-save', '-t', 'nat'])).not.toContain('dyneg-PROXY');
      expect(new AgentState(stateDir).proxyDropped()).toBe(true);
    } finally {
      silent.close();
    }
    await stopAgent();
    await startAgent();
    expect((await residentSync(0)).code).toBe(0);
  });

  it('gives up a sync that hangs (a table that never answers): exit 3 to its caller, then exits, freeing the lock', async () => {
    await stopAgent();
    // Accepts connections and never answers: the SDK's request waits on.
    const silent = await startSilentTable();
    try {
      await startAgent('5', { syncTimeout: '1', env: { AWS_ENDPOINT_URL_DYNAMODB: silent.endpoint } });
      const exited = agent?.exited;
      const result = await residentSync(0);
      expect(result.code).toBe(3);
      expect(result.stderr).toBe(
        'error: the sync did not finish within 1 s: the resident agent gives it up and exits (systemd starts it again)\n',
      );
      expect(await exited).toBe(3);
      // The lock's holder (a shell) outlives the agent by the moment it takes to read the end of its
      // input: the lock is freed then, not at the agent's exit itself.
      const freedBy = Date.now() + 2000;
      while (spawnSync('flock', ['-n', join(stateDir, 'sync.lock'), 'true']).status !== 0 && Date.now() < freedBy)
        await new Promise((done) => setTimeout(done, 20));
      expect(spawnSync('flock', ['-n', join(stateDir, 'sync.lock'), 'true']).status).toBe(0);
    } finally {
      silent.close();
    }
    await startAgent();
    expect((await residentSync(0)).code).toBe(0);
  });

  it('when no agent answers, the caller is told so (and syncs itself): a silent agent after the wait, a removed folder at once', async () => {
    expect(await stopAgent()).toBe(0);
    // The folder stays (systemd would remove its RuntimeDirectory); a request into it waits, is withdrawn.
    const silent = await residentSync(0, 'cheap', 0.3);
    expect(silent).toEqual({ code: NOT_ANSWERED, stdout: '', stderr: '' });
    expect(readdirSync(requests)).toEqual([]);
    // The folder removed while a caller waits (systemd stopping or restarting the agent): it stops waiting.
    const waiting = residentSync(0, 'cheap', 30);
    await new Promise((done) => setTimeout(done, 200));
    const removedAt = performance.now();
    rmSync(requests, { recursive: true });
    expect(await waiting).toEqual({ code: NOT_ANSWERED, stdout: '', stderr: '' });
    expect(performance.now() - removedAt).toBeLessThan(1000);
    // The folder replaced with its request in it, faster than a caller polls (systemd restarting the
    // agent): none of the request's files is left, so it stops waiting too.
    mkdirSync(requests, { mode: 0o700 });
    const replaced = residentSync(0, 'cheap', 30);
    await new Promise((done) => setTimeout(done, 200));
    const replacedAt = performance.now();
    renameSync(requests, `${requests}.old`);
    mkdirSync(requests, { mode: 0o700 });
    rmSync(`${requests}.old`, { recursive: true });
    expect(await replaced).toEqual({ code: NOT_ANSWERED, stdout: '', stderr: '' });
    expect(performance.now() - replacedAt).toBeLessThan(1000);
    rmSync(requests, { recursive: true });
    // No folder: told at once.
    const started = performance.now();
    expect(await residentSync(0)).toEqual({ code: NOT_ANSWERED, stdout: '', stderr: '' });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
