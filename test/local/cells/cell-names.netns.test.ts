// Local mode's host-name refresh against a real kernel and resolver: the bundled agent's
// `names --from-sync` that startCellNames runs inside a lab cell's namespace follows the names
// document a sync of that cell wrote in its state directory, resolving with dnsmasq in the lab
// (the namespace's resolv.conf), so a container reaches the name's address on the allowed port;
// its lines reach local mode's log with the cell's name; stop ends it (no restart).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_NAMES_FILE } from '../../../agent/names/names-file.js';
import { netnsRunner } from '../../../agent/runner.js';
import { sync } from '../../../agent/sync.js';
import { bundleAgent } from '../../../bundling/agent-bundle.js';
import type { Log, LogAttributes } from '../../../core/log.js';
import { type CellNames, cellNamesCommand, startCellNames } from '../../../local/cells/cell-names.js';
import { dnsmasqAvailable, type LabDns, startLabDns } from '../../../local/lab/lab-dns.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';

const ADDRESS = '198.51.100.10';
const DNS = '198.51.100.53';
const PORT = 8000;
const NAME = 'db.lab.example';
const CELL = 'cell-1';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(labAvailable() && dnsmasqAvailable())('local cells: the host-name refresh', () => {
  let lab: Lab;
  let dns: LabDns;
  let ns: string;
  let container: LabContainer;
  let names: CellNames | undefined;
  let netnsEtc: string | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cell-names-'));
  const stateRoot = join(dir, 'cells');
  const lines: { level: string; message: string; attributes: LogAttributes | undefined }[] = [];
  const log: Log = {
    debug: (message, attributes) => lines.push({ level: 'DEBUG', message, attributes }),
    info: (message, attributes) => lines.push({ level: 'INFO', message, attributes }),
    warn: (message, attributes) => lines.push({ level: 'WARN', message, attributes }),
    error: (message, attributes) => lines.push({ level: 'ERROR', message, attributes }),
  };

  beforeAll(async () => {
    lab = await createLab({
      tag: 'cellnames',
      cells: [{ ips: ['10.255.1.2'] }],
      external: { addresses: [ADDRESS, DNS], tcpPorts: [PORT, PORT + 1] },
    });
    const cellInfo = firstCell(lab);
    ns = cellInfo.ns;
    [container] = containersOf(cellInfo, 1);
    dns = await startLabDns({ ns: lab.external.ns, address: DNS, ttlSeconds: 60, records: { [NAME]: [ADDRESS] } });
    netnsEtc = join('/etc/netns', ns);
    mkdirSync(netnsEtc, { recursive: true });
    writeFileSync(join(netnsEtc, 'resolv.conf'), `nameserver ${DNS}\n`);
  });

  afterAll(async () => {
    await names?.stop();
    await dns?.destroy();
    await lab?.destroy();
    if (netnsEtc !== undefined) rmSync(netnsEtc, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs `agent names --from-sync` per namespace cell, on its state directory; none for the dry-run cell', () => {
    const options = { cells: [], agentFile: '/a/agent.mjs', stateRoot: '/s', log };
    const command = cellNamesCommand({ name: CELL, netns: 'ns-1', containers: '/c' }, options) ?? [];
    expect(command.slice(command.indexOf('ip'))).toEqual([
      'ip',
      'netns',
      'exec',
      'ns-1',
      process.execPath,
      '/a/agent.mjs',
      'names',
      '--from-sync',
      '--state-dir',
      `/s/${CELL}`,
      '--overlay-cidr',
      '10.255.0.0/16',
    ]);
    expect(
      cellNamesCommand(
        { name: CELL, netns: 'ns-1', containers: '/c' },
        {
          ...options,
          denyNetworks: { always: ['169.254.169.254/32'], running: [], staging: [] },
        },
      ),
    ).toContain('--deny-networks');
    expect(cellNamesCommand({ name: 'dry', containers: '/c' }, options)).toBeUndefined();
  });

  it("follows the cell's names document: the container reaches the name on the allowed port", async () => {
    const policies = {
      total_egress_policies: 1,
      egress_policies: [
        {
          id: 'p1',
          source: { type: 'app' as const, id: 'app-1' },
          destination: {
            id: 'dest-db',
            name: 'db',
            ips: [],
            hosts: [NAME],
            ports: [{ start: PORT, end: PORT }],
            protocol: 'tcp' as const,
          },
        },
      ],
    };
    await sync(policies, [{ ip: container.ip, appId: 'app-1', spaceId: 'space-1', lifecycle: 'running' }], {
      runner: netnsRunner(ns),
      namesFile: join(stateRoot, CELL, SYNC_NAMES_FILE),
    });
    expect(await lab.tcp(container, ADDRESS, PORT)).toBe('refused');
    const agentFile = await bundleAgent(join(dir, 'agent'));
    names = startCellNames({
      cells: [
        { name: CELL, netns: ns, containers: join(dir, 'store.json') },
        { name: 'dry', containers: join(dir, 'store.json') },
      ],
      agentFile,
      stateRoot,
      log,
    });
    let opened = false;
    for (let tries = 0; tries < 100 && !opened; tries += 1) {
      opened = (await lab.tcp(container, ADDRESS, PORT, 300)) === 'open';
      if (!opened) await sleep(100);
    }
    expect(opened, JSON.stringify(lines)).toBe(true);
    expect(await lab.tcp(container, ADDRESS, PORT + 1)).toBe('refused');
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'names refreshed',
        attributes: expect.objectContaining({ cell: CELL, sets: 1 }),
      }),
    );
  }, 40_000);

  it('stop ends the refresh and does not start it again', async () => {
    await names?.stop();
    names = undefined;
    await sleep(300);
    expect(lines.filter((line) => line.level === 'ERROR')).toEqual([]);
  });
});
