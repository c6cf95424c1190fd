// A proxy step that fails fails closed, and after the filter rules (converge.ts): settings read from
// the cell that it cannot use (a resolv.conf without an IPv4 nameserver) still let a revocation reach
// the filter table, take the proxy's redirects away, mark the step to run again and say what was
// applied; settings given as values are refused input, checked before anything is applied.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCellAgent } from '../../../agent/cell-agent.js';
import { ProxyStepFailed } from '../../../agent/errors.js';
import { SYNC_NAMES_FILE } from '../../../agent/names/names-file.js';
import { readResolvConf } from '../../../agent/names/resolv-conf.js';
import type { ProxySettings } from '../../../agent/proxy/settings.js';
import { AgentState } from '../../../agent/state.js';
import { ValidationError } from '../../../core/domain/errors.js';
import { buildSnapshot, encodeSnapshot } from '../../../core/domain/snapshot.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { InMemorySnapshotStore } from '../../helpers/in-memory-snapshot-store.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';
import { containerStore } from '../fixtures.js';
import { ownedFilterState, plantedRedirects } from '../kernel-state.js';

const EXTERNAL = '198.51.100.10';
const PORT = 8000;

const policy: EgressPolicy = {
  id: 'p1',
  source: { type: 'app', id: 'app-a' },
  destination: {
    id: 'd1',
    name: 'db',
    ips: [{ start: EXTERNAL, end: EXTERNAL }],
    ports: [{ start: PORT, end: PORT }],
    protocol: 'tcp',
  },
};

describe.runIf(labAvailable())('a failing proxy step on a real cell', () => {
  let lab: Lab;
  let cell: string;
  let container: LabContainer;
  const dir = mkdtempSync(join(tmpdir(), 'agent-proxy-step-failure-'));
  const storeFile = join(dir, 'store.json');
  const table = new InMemorySnapshotStore();

  const agentWith = (stateDir: string, settings: ProxySettings | (() => Promise<ProxySettings>)) =>
    createCellAgent({
      snapshots: table,
      stateDir,
      cellName: 'cell-1',
      containersFile: storeFile,
      mode: 'apply',
      netns: cell,
      proxy: { dir: join(stateDir, 'proxy'), settings, manage: 'start' },
    });
  const nat = () => lab.execOk(cell, ['iptables-save', '-t', 'nat']);

  beforeAll(async () => {
    lab = await createLab({
      tag: 'pxfail',
      cells: [{ ips: ['10.255.1.2'] }],
      external: { addresses: [EXTERNAL], tcpPorts: [PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [container] = containersOf(cellInfo, 1);
    writeFileSync(
      storeFile,
      JSON.stringify(containerStore([{ ip: container.ip, appId: 'app-a', spaceId: 'space-1' }])),
    );
  });
  afterAll(async () => {
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with a resolv.conf it cannot use, applies the revocation, removes the redirects and fails saying so', async () => {
    const stateDir = join(dir, 'state-resolv');
    const resolvConf = join(dir, 'resolv.conf');
    // As `sync --from-dynamodb` reads the cell's resolver (cli-sync-table.ts): at the proxy step.
    const readCell = async (): Promise<ProxySettings> => ({ nameservers: await readResolvConf(resolvConf) });
    await table.write(encodeSnapshot(buildSnapshot(1, [policy])));
    await lab.execOk(cell, ['iptables-restore', '--noflush'], plantedRedirects(container.ip));

    // Only IPv6 nameservers (HAProxy's resolvers take IPv4 here): the step's settings are refused.
    writeFileSync(resolvConf, 'lookup file bind\nnameserver fd00::53\n');
    const first = agentWith(stateDir, async () => ({
      nameservers: (await readCell()).nameservers.filter((ip) => !ip.includes(':')),
    }));
    const failed = await first.sync().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(ProxyStepFailed);
    expect(String(failed)).toContain('the filter rules are applied (policy version 1); the proxy step failed');
    expect(String(failed)).toContain('nameservers must list 1-');
    expect(await lab.tcp(container, EXTERNAL, PORT)).toBe('open');
    expect(await nat()).not.toContain('dyneg-PROXY');
    expect(new AgentState(stateDir).proxyDropped()).toBe(true);

    // The revocation (version 2 allows nothing) lands while the resolver stays unusable (unreadable).
    rmSync(resolvConf);
    await table.write(encodeSnapshot(buildSnapshot(2, [])));
    await lab.execOk(cell, ['iptables-restore', '--noflush'], plantedRedirects(container.ip));
    await expect(agentWith(stateDir, readCell).sync()).rejects.toThrow(
      /^the filter rules are applied \(policy version 2\); the proxy step failed, http and https destinations allow nothing until it succeeds: /,
    );
    expect(await lab.tcp(container, EXTERNAL, PORT)).toBe('refused');
    expect(await nat()).not.toContain('dyneg-PROXY');
    expect(new AgentState(stateDir).applied()?.version).toBe(2);
  });

  it('takes the redirects away too when what follows the filter rules fails before the proxy step (the record)', async () => {
    const stateDir = join(dir, 'state-record');
    await table.write(encodeSnapshot(buildSnapshot(3, [policy])));
    const settings = async (): Promise<ProxySettings> => ({ nameservers: ['198.51.100.53'] });
    // No layer-7 destination: the proxy step only makes sure no redirect is there.
    expect((await agentWith(stateDir, settings).sync()).proxy).toMatchObject({ redirects: 0 });
    // The cell's copy cannot be written (a folder where the file goes): the record fails.
    rmSync(join(stateDir, 'snapshot.json.gz'), { force: true });
    mkdirSync(join(stateDir, 'snapshot.json.gz', 'x'), { recursive: true });
    await table.write(encodeSnapshot(buildSnapshot(4, [])));
    await lab.execOk(cell, ['iptables-restore', '--noflush'], plantedRedirects(container.ip));
    const failed = await agentWith(stateDir, settings)
      .sync()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failed).toBeInstanceOf(Error);
    expect(failed).not.toBeInstanceOf(ProxyStepFailed);
    expect(await lab.tcp(container, EXTERNAL, PORT)).toBe('refused');
    expect(await nat()).not.toContain('dyneg-PROXY');
    expect(new AgentState(stateDir).proxyDropped()).toBe(true);
  });

  it('takes the redirects away too when the sync fails once it has written to the kernel (the names document)', async () => {
    const stateDir = join(dir, 'state-names');
    await table.write(encodeSnapshot(buildSnapshot(5, [policy])));
    const settings = async (): Promise<ProxySettings> => ({ nameservers: ['198.51.100.53'] });
    await agentWith(stateDir, settings).sync();
    expect(await lab.tcp(container, EXTERNAL, PORT)).toBe('open');
    // The names document cannot be written (a folder where the file goes): the sync fails after its
    // iptables transaction, before converge records anything.
    rmSync(join(stateDir, SYNC_NAMES_FILE), { force: true });
    mkdirSync(join(stateDir, SYNC_NAMES_FILE, 'x'), { recursive: true });
    await table.write(encodeSnapshot(buildSnapshot(6, [])));
    await lab.execOk(cell, ['iptables-restore', '--noflush'], plantedRedirects(container.ip));
    await expect(agentWith(stateDir, settings).sync()).rejects.toThrow();
    expect(await lab.tcp(container, EXTERNAL, PORT)).toBe('refused');
    expect(await nat()).not.toContain('dyneg-PROXY');
    expect(new AgentState(stateDir).proxyDropped()).toBe(true);
  });

  it('refuses settings given as values before anything is applied', async () => {
    const stateDir = join(dir, 'state-values');
    const before = await ownedFilterState(lab, cell);
    expect(() => agentWith(stateDir, { nameservers: ['not-an-address'] })).toThrow(ValidationError);
    expect(() => agentWith(stateDir, { nameservers: ['not-an-address'] })).toThrow(
      'nameservers: must be ip or ip:port, got "not-an-address"',
    );
    expect(await ownedFilterState(lab, cell)).toBe(before);
  });
});
