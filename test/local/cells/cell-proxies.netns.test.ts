// Local mode's cell proxies against a real kernel, HAProxy and resolver: the options cellProxies gives
// a namespace cell's agent (its state directory's proxy/, the namespace's resolv.conf, started by the
// agent) make an http destination reachable by name from the cell's container; stop ends every
// cell's HAProxy, after which the redirected connection is refused. The flags for an agent process
// say the same, and there is no proxy without haproxy or without a namespace.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCellAgent } from '../../../agent/cell-agent.js';
import { startCommandHelper } from '../../../agent/command-helper.js';
import { createProxyProcess } from '../../../agent/proxy/haproxy-process.js';
import { netnsRunner } from '../../../agent/runner.js';
import { fixedSnapshotSource } from '../../../agent/source/fixed-snapshot.js';
import { buildSnapshot, encodeSnapshot } from '../../../core/domain/snapshot.js';
import { type CellProxies, cellProxies, namespaceNameservers } from '../../../local/cells/cell-proxies.js';
import type { LocalCell } from '../../../local/cells/local-cells.js';
import { dnsmasqAvailable, type LabDns, startLabDns } from '../../../local/lab/lab-dns.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { containerStore } from '../../agent/fixtures.js';
import { toolsAvailable } from '../../agent/proxy/prerequisites.js';
import { httpCall, makeCertificate, type Seen, startServers, stopProxyLab } from '../../agent/proxy/proxy-lab.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';

const SERVER = '198.51.100.10';
const DNS = '198.51.100.53';
const NAME = 'api.lab.example';

describe('cellProxies without a proxy', () => {
  it('gives nothing without haproxy, or for the dry-run cell', () => {
    const cells: LocalCell[] = [
      { name: 'cell-1', netns: 'ns-1', containers: '/c' },
      { name: 'dry', containers: '/d' },
    ];
    const off = cellProxies({ cells, stateRoot: '/s', haproxy: false });
    expect(off.state).toContain('off (haproxy is not installed');
    expect(off.optionsFor(cells[0] as LocalCell)).toBeUndefined();
    expect(off.argsFor(cells[0] as LocalCell)).toEqual([]);
    const on = cellProxies({ cells, stateRoot: '/s', haproxy: true });
    expect(on.state).toBe('on');
    expect(on.optionsFor(cells[1] as LocalCell)).toBeUndefined();
  });
});

describe.runIf(labAvailable() && dnsmasqAvailable() && toolsAvailable('cell proxies', 'haproxy', 'openssl', 'curl'))(
  'local cells: the cell proxy',
  () => {
    let lab: Lab;
    let dns: LabDns;
    let container: LabContainer;
    let cell: LocalCell;
    let proxies: CellProxies;
    let netnsEtc: string | undefined;
    const seen: Seen[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'cell-proxies-'));
    const stateRoot = join(dir, 'cells');

    beforeAll(async () => {
      lab = await createLab({
        tag: 'lcproxy',
        cells: [{ ips: ['10.255.1.2'] }],
        external: { addresses: [SERVER, DNS] },
      });
      const cellInfo = firstCell(lab);
      [container] = containersOf(cellInfo, 1);
      await startServers(lab.external.ns, await makeCertificate(dir, [NAME]), seen);
      dns = await startLabDns({ ns: lab.external.ns, address: DNS, ttlSeconds: 60, records: { [NAME]: [SERVER] } });
      netnsEtc = join('/etc/netns', cellInfo.ns);
      mkdirSync(netnsEtc, { recursive: true });
      writeFileSync(join(netnsEtc, 'resolv.conf'), `nameserver ${DNS}\n`);
      const containers = join(dir, 'store.json');
      writeFileSync(containers, JSON.stringify(containerStore([{ ip: container.ip, appId: 'app-a', spaceId: 's-1' }])));
      cell = { name: 'cell-1', netns: cellInfo.ns, containers };
      proxies = cellProxies({ cells: [cell], stateRoot });
    });

    afterAll(async () => {
      await proxies?.stop();
      await dns?.destroy();
      stopProxyLab();
      await lab?.destroy();
      if (netnsEtc !== undefined) rmSync(netnsEtc, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    });

    it("configures the cell's agent with its state directory, its namespace's resolver, and starting the proxy", async () => {
      const options = proxies.optionsFor(cell);
      expect(options).toMatchObject({ dir: join(stateRoot, 'cell-1', 'proxy'), manage: 'start' });
      // Read at each proxy step, not once: the namespace's resolv.conf may change.
      const settings = options?.settings;
      expect(typeof settings).toBe('function');
      expect(typeof settings === 'function' ? await settings() : settings).toEqual({ nameservers: [DNS] });
      expect(proxies.argsFor(cell)).toEqual([
        '--proxy-dir',
        join(stateRoot, 'cell-1', 'proxy'),
        '--proxy-nameservers',
        DNS,
        '--proxy-start',
      ]);
    });

    it("reads no nameserver from a namespace's resolv.conf it cannot parse or that names only IPv6", async () => {
      const fake = `dyneg-test-${process.pid}`;
      const etc = join('/etc/netns', fake);
      mkdirSync(etc, { recursive: true });
      try {
        writeFileSync(join(etc, 'resolv.conf'), 'nameserver not-an-address\n');
        expect(namespaceNameservers(fake)).toEqual([]);
        writeFileSync(join(etc, 'resolv.conf'), 'nameserver ::1\nnameserver 192.0.2.53\n');
        expect(namespaceNameservers(fake)).toEqual(['192.0.2.53']);
        writeFileSync(join(etc, 'resolv.conf'), 'nameserver ::1\n');
        const none = cellProxies({ cells: [], stateRoot, haproxy: true });
        const cellWithout: LocalCell = { name: 'cell-9', netns: fake, containers: '/c' };
        const settings = none.optionsFor(cellWithout)?.settings;
        expect(typeof settings === 'function' ? await settings() : settings).toEqual({ nameservers: [] });
        // The agent process then reads /etc/resolv.conf itself.
        expect(none.argsFor(cellWithout)).toEqual(['--proxy-dir', join(stateRoot, 'cell-9', 'proxy'), '--proxy-start']);
      } finally {
        rmSync(etc, { recursive: true, force: true });
      }
    });

    it('an http destination by name is reached through the proxy the agent starts; stop ends it', async () => {
      const snapshot = encodeSnapshot(
        buildSnapshot(1, [
          {
            id: 'p-1',
            source: { type: 'app', id: 'app-a' },
            destination: {
              id: 'd-1',
              name: 'api',
              ips: [],
              hosts: [NAME],
              ports: [{ start: 80, end: 80 }],
              protocol: 'http',
            },
          },
        ]),
      );
      const snapshots = fixedSnapshotSource(() => snapshot);
      const proxy = proxies.optionsFor(cell);
      // As `npm start` runs a cell's agent: its commands (HAProxy's start among them) through the helper.
      const commands = startCommandHelper();
      const agent = createCellAgent({
        snapshots,
        stateDir: join(stateRoot, 'cell-1'),
        cellName: 'cell-1',
        containersFile: cell.containers,
        mode: 'apply',
        netns: cell.netns,
        runner: commands.runner,
        ...(proxy === undefined ? {} : { proxy }),
      });
      try {
        expect((await agent.sync()).proxy).toMatchObject({ proxy: 'started' });
      } finally {
        commands.stop();
      }
      const answer = await httpCall(container, NAME, `http://${SERVER}/local`);
      expect(answer.status).toBe(200);
      expect(seen.at(-1)).toMatchObject({ host: NAME, url: '/local' });

      await proxies.stop();
      const process = createProxyProcess({
        dir: join(stateRoot, 'cell-1', 'proxy'),
        runner: netnsRunner(cell.netns ?? ''),
      });
      expect(await process.status()).toBeUndefined();
      expect((await httpCall(container, NAME, `http://${SERVER}/local`)).code).toBe(7);
    });
  },
);
