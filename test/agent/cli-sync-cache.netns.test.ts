// `agent sync --from-cache` on a real cell, what the boot unit runs: after a reboot (here the agent's
// rules taken out of the kernel, as a boot leaves it) the cell's own copy of its last snapshot closes
// the overlay again with the rules it had, without the table; with no copy, or a damaged one, nothing
// from the overlay gets out. Real tcp connections from the cell's containers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCellAgent } from '../../agent/cell-agent.js';
import { COPY_SET_ASIDE } from '../../agent/cli-sync-cache.js';
import { type CommandRunner, spawnRunner } from '../../agent/runner.js';
import { CACHE_ONLY } from '../../agent/source/cache-only.js';
import { AgentState } from '../../agent/state.js';
import { readSyncedLine } from '../../agent/sync-summary.js';
import { buildSnapshot, encodeSnapshot } from '../../core/domain/snapshot.js';
import { bootGuardCommand } from '../../lib/cell-units.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../local/lab/netns-lab.js';
import { InMemorySnapshotStore } from '../helpers/in-memory-snapshot-store.js';
import { containersOf, firstCell } from '../helpers/lab-cell.js';
import { app, containerStore, policyList, tcp } from './fixtures.js';
import { ownedFilterState, plantedRedirects } from './kernel-state.js';
import { runAgentCommand } from './run-agent.js';

const EXTERNAL = '198.51.100.10';
const ALLOWED_PORT = 8000;
const OTHER_PORT = 9000;

/** Version 1 of the table: app-a may reach EXTERNAL:ALLOWED_PORT. */
const published = encodeSnapshot(
  buildSnapshot(1, [
    {
      id: 'p1',
      source: { type: 'app', id: 'app-a' },
      destination: {
        id: 'd1',
        name: 'db',
        ips: [{ start: EXTERNAL, end: EXTERNAL }],
        ports: [{ start: ALLOWED_PORT, end: ALLOWED_PORT }],
        protocol: 'tcp',
      },
    },
  ]),
);
/** The table, in memory: version 1 written once (beforeAll). */
const table = new InMemorySnapshotStore();

describe.runIf(labAvailable())('agent sync --from-cache on a real cell', () => {
  let lab: Lab;
  let cell: string;
  let listed: LabContainer;
  let unlisted: LabContainer;
  const dir = mkdtempSync(join(tmpdir(), 'agent-from-cache-'));
  const storeFile = join(dir, 'store.json');

  /** What each probe gives: the listed container to both ports, the unlisted one to the allowed port. */
  const reach = async () => ({
    allowed: await lab.tcp(listed, EXTERNAL, ALLOWED_PORT),
    other: await lab.tcp(listed, EXTERNAL, OTHER_PORT),
    unlisted: await lab.tcp(unlisted, EXTERNAL, ALLOWED_PORT),
  });
  const runFromCache = (stateDir: string, containers = storeFile) =>
    runAgentCommand(['sync', '--from-cache', '--containers', containers, '--state-dir', stateDir, '--netns', cell]);
  const fromCache = async (stateDir: string) => {
    const result = await runFromCache(stateDir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return readSyncedLine(result.stdout.trimEnd().split('\n').at(-1) ?? '');
  };
  /** A boot: the kernel without anything of the agent's. */
  const reboot = async () => {
    const result = await runAgentCommand(['uninstall', '--netns', cell]);
    expect(result.code).toBe(0);
  };
  const tableSync = (stateDir: string) =>
    createCellAgent({
      snapshots: table,
      stateDir,
      cellName: 'cell-1',
      containersFile: storeFile,
      mode: 'apply',
      netns: cell,
    }).sync();

  /** `sync --from-cache` as the CLI runs it, in-process, its kernel commands through `runner`. */
  const cacheSync = (stateDir: string, runner: CommandRunner) =>
    createCellAgent({
      snapshots: CACHE_ONLY,
      stateDir,
      cellName: 'this-cell',
      containersFile: storeFile,
      mode: 'apply',
      netns: cell,
      runner,
    }).sync();

  beforeAll(async () => {
    await table.write(published);
    lab = await createLab({
      tag: 'cache',
      cells: [{ ips: ['10.255.1.2', '10.255.1.3'] }],
      external: { addresses: [EXTERNAL], tcpPorts: [ALLOWED_PORT, OTHER_PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [listed, unlisted] = containersOf(cellInfo, 2);
    writeFileSync(storeFile, JSON.stringify(containerStore([{ ip: listed.ip, appId: 'app-a', spaceId: 'space-1' }])));
  });
  afterAll(async () => {
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after a reboot, the copy puts back the rules the table gave, and the next table sync finds them in force', async () => {
    const stateDir = join(dir, 'state');
    expect((await tableSync(stateDir)).summary).toMatchObject({ version: 1, origin: 'table', changed: true });
    const enforced = { allowed: 'open', other: 'refused', unlisted: 'refused' };
    expect(await reach()).toEqual(enforced);
    const rules = await ownedFilterState(lab, cell);

    await reboot();
    // What a booted cell is until its first sync: open to everything.
    expect(await reach()).toEqual({ allowed: 'open', other: 'open', unlisted: 'open' });

    // A dry run shows what it would put back and changes nothing.
    const preview = await runAgentCommand([
      'sync',
      '--from-cache',
      '--containers',
      storeFile,
      '--state-dir',
      stateDir,
      '--netns',
      cell,
      '--dry-run',
    ]);
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/^# would change:\n/);
    expect(preview.stdout).toContain('\n*filter\n');
    expect(await ownedFilterState(lab, cell)).toBe('');

    expect(await fromCache(stateDir)).toMatchObject({ version: 1, origin: 'cache', changed: true, applied: true });
    expect(await reach()).toEqual(enforced);
    expect(await ownedFilterState(lab, cell)).toBe(rules);
    // The table has nothing newer: its sync finds the kernel's record holding for these inputs.
    expect((await tableSync(stateDir)).summary).toMatchObject({ version: 1, origin: 'cache', changed: false });
  });

  it("takes away the proxy's redirects a table sync left (they match containers by address), and has the next proxy step run again", async () => {
    const stateDir = join(dir, 'state-proxy');
    await tableSync(stateDir);
    await lab.execOk(cell, ['iptables-restore', '--noflush'], plantedRedirects(listed.ip));
    expect(await lab.execOk(cell, ['iptables-save', '-t', 'nat'])).toContain('dyneg-PROXY');
    expect(await fromCache(stateDir)).toMatchObject({ origin: 'cache' });
    expect(await lab.execOk(cell, ['iptables-save', '-t', 'nat'])).not.toContain('dyneg-PROXY');
    expect(new AgentState(stateDir).proxyDropped()).toBe(true);
  });

  it("applies the filter rules even when the proxy's redirects cannot be read, then fails saying so", async () => {
    const stateDir = join(dir, 'state-nat-broken');
    await tableSync(stateDir);
    const enforced = await ownedFilterState(lab, cell);
    await reboot();
    // A kernel whose nat table cannot be read: the boot sync must still close the cell.
    const natBroken: CommandRunner = (command, args, input) =>
      [command, ...args].includes('iptables-save') && args.includes('nat')
        ? Promise.resolve({ code: 1, stdout: '', stderr: 'iptables-save: nat unavailable\n' })
        : spawnRunner(command, args, input);
    await expect(cacheSync(stateDir, natBroken)).rejects.toThrow('nat unavailable');
    expect(await ownedFilterState(lab, cell)).toBe(enforced);
    expect(await reach()).toEqual({ allowed: 'open', other: 'refused', unlisted: 'refused' });
    expect(new AgentState(stateDir).proxyDropped()).toBe(true);
  });

  it("the boot unit's guard closes a booted cell at once, keeps it closed when the sync fails, and the sync replaces it", async () => {
    const stateDir = join(dir, 'state-guard');
    await tableSync(stateDir);
    const enforced = await ownedFilterState(lab, cell);
    await reboot();
    const guard = bootGuardCommand('10.255.0.0/16');
    await lab.execOk(cell, ['sh', '-c', guard]);
    // No agent ran (node missing, a kernel that refused the sync): closed, container to container aside.
    expect(await reach()).toEqual({ allowed: 'refused', other: 'refused', unlisted: 'refused' });
    const guarded = await lab.execOk(cell, ['iptables-save', '-t', 'filter']);
    expect(guarded).toMatch(/^-A FORWARD -m comment --comment "?dyneg:hook"? -j dyneg-FORWARD\n/m);
    expect(guarded).toContain('-A dyneg-FORWARD -d 10.255.0.0/16 -j RETURN\n');
    // Run again with the root chain there (a restart of the unit), it adds nothing.
    await lab.execOk(cell, ['sh', '-c', guard]);
    expect(await lab.execOk(cell, ['iptables-save', '-t', 'filter'])).toBe(guarded);
    // The boot sync then puts in exactly what a sync on an empty kernel does.
    expect(await fromCache(stateDir)).toMatchObject({ origin: 'cache', changed: true });
    expect(await ownedFilterState(lab, cell)).toBe(enforced);
    expect(await reach()).toEqual({ allowed: 'open', other: 'refused', unlisted: 'refused' });
  });

  it('does not go back to a copy older than the rules in force (an apply whose record was not written): it closes the overlay', async () => {
    const stateDir = join(dir, 'state-stale');
    await tableSync(stateDir);
    // Newer rules than the copy: another apply, which this state directory never recorded.
    const newer = join(dir, 'newer-policies.json');
    writeFileSync(
      newer,
      JSON.stringify(policyList([tcp('p9', app('app-a'), [EXTERNAL, EXTERNAL], [OTHER_PORT, OTHER_PORT])])),
    );
    const applied = await runAgentCommand(['sync', '--policies', newer, '--containers', storeFile, '--netns', cell]);
    expect(applied.code).toBe(0);
    expect(await reach()).toEqual({ allowed: 'refused', other: 'open', unlisted: 'refused' });
    const result = await runFromCache(stateDir);
    expect([result.code, result.stderr]).toEqual([0, '']);
    const [warning = '', summary = ''] = result.stdout.trimEnd().split('\n');
    // Said in the journal: the operator sees why the cell is closed and what reopens it.
    expect(JSON.parse(warning)).toMatchObject({ level: 'WARN', message: COPY_SET_ASIDE });
    expect(JSON.parse(warning).reason).toMatch(
      /^the kernel's record names another apply \([0-9a-f]+\) than the copy's \([0-9a-f]+\)$/,
    );
    expect(readSyncedLine(summary)).toMatchObject({ origin: 'empty', changed: true });
    expect(await reach()).toEqual({ allowed: 'refused', other: 'refused', unlisted: 'refused' });
  });

  it.each([
    [4, 'iptables: Resource temporarily unavailable.'],
    // The chain is there (the whole table shows it): exit 1 is not a missing chain this time.
    [1, "iptables v1.8.9 (nf_tables): chain `dyneg-FORWARD' in table `filter' is incompatible, use 'nft' tool."],
  ])(
    "closes the overlay too when the kernel's record cannot be read (exit %i: it may name a newer apply)",
    async (code, stderr) => {
      const stateDir = join(dir, `state-unreadable-${code}`);
      await tableSync(stateDir);
      const rootUnreadable: CommandRunner = (command, args, input) =>
        command === 'ip' && args.includes('-S') && args.includes('dyneg-FORWARD')
          ? Promise.resolve({ code, stdout: '', stderr: `${stderr}\n` })
          : spawnRunner(command, args, input);
      const closed = await cacheSync(stateDir, rootUnreadable);
      expect(closed.summary).toMatchObject({ origin: 'empty' });
      expect(closed.copySetAside).toMatch(/^the kernel's record cannot be read: /);
      expect(await reach()).toEqual({ allowed: 'refused', other: 'refused', unlisted: 'refused' });
    },
  );

  it('without a copy (a cell that never synced), nothing from the overlay gets out', async () => {
    await reboot();
    expect(await fromCache(join(dir, 'new-state'))).toMatchObject({ version: 0, origin: 'empty', changed: true });
    expect(await reach()).toEqual({ allowed: 'refused', other: 'refused', unlisted: 'refused' });
  });

  it('with the containers file missing (not written yet at boot), lists no container: nothing gets out', async () => {
    const stateDir = join(dir, 'no-file');
    await tableSync(stateDir);
    await reboot();
    const result = await runFromCache(stateDir, join(dir, 'absent.json'));
    expect(result.code).toBe(0);
    const [warning = '', summary = ''] = result.stdout.trimEnd().split('\n');
    expect(JSON.parse(warning)).toMatchObject({
      level: 'WARN',
      message: 'containers file not used: no container listed',
    });
    expect(readSyncedLine(summary)).toMatchObject({ version: 1, origin: 'cache', containers: 0, changed: true });
    expect(await reach()).toEqual({ allowed: 'refused', other: 'refused', unlisted: 'refused' });
  });

  it('with a containers file it refuses, applies no container all the same and exits 1', async () => {
    const stateDir = join(dir, 'bad-file');
    await tableSync(stateDir);
    await reboot();
    const bad = join(dir, 'bad-store.json');
    writeFileSync(bad, JSON.stringify(containerStore([{ ip: '8.8.8.8', appId: 'app-a', spaceId: 'space-1' }])));
    const result = await runFromCache(stateDir, bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: invalid input: .*8\.8\.8\.8.*; applied with no container listed\n$/);
    expect(readSyncedLine(result.stdout.trimEnd().split('\n').at(-1) ?? '')).toMatchObject({ containers: 0 });
    expect(await reach()).toEqual({ allowed: 'refused', other: 'refused', unlisted: 'refused' });
  });

  it('with a damaged copy, nothing from the overlay gets out', async () => {
    const stateDir = join(dir, 'damaged');
    await tableSync(stateDir);
    await reboot();
    writeFileSync(join(stateDir, 'snapshot.json.gz'), 'not what was applied');
    expect(await fromCache(stateDir)).toMatchObject({ version: 0, origin: 'empty', changed: true });
    expect(await reach()).toEqual({ allowed: 'refused', other: 'refused', unlisted: 'refused' });
  });
});
