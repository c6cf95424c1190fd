// New-container latency on a real cell: a container written into the containers file → its first
// allowed connection, through the same path a cell takes (a watcher on the file's folder, as local
// mode's, standing in for the systemd path unit; then a recorded sync). Containers are added one at
// a time; before it is listed, each one must be refused (the cell fails closed).
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textDigest } from '../../agent/applied-record.js';
import { syncRecorded } from '../../agent/recorded-sync.js';
import { netnsRunner } from '../../agent/runner.js';
import { parseContainers, parsePolicies } from '../../agent/source/files.js';
import { silentLog } from '../../core/log.js';
import { createLab } from '../../local/lab/netns-lab.js';
import { watchContainersFiles } from '../../local/propagation/containers-watcher.js';

const SERVICE = { ip: '198.51.100.10', port: 8000 };
/** Give up on one container after this long (it then counts as this long). */
const GIVE_UP_MS = 5000;

export interface LatencySamples {
  readonly samples: readonly number[];
  /** Containers that reached the service before they were listed (must be 0). */
  readonly openBeforeListed: number;
}

/** `count` containers (at most 250), each its own app allowed to one TCP service. */
export async function measureNewContainerLatency(count: number): Promise<LatencySamples> {
  const lab = await createLab({
    tag: 'benchnew',
    cells: [{ count }],
    external: { addresses: [SERVICE.ip], tcpPorts: [SERVICE.port] },
  });
  const dir = mkdtempSync(join(tmpdir(), 'bench-new-container-'));
  const storeFile = join(dir, 'store.json');
  try {
    const [cell] = lab.cells;
    if (cell === undefined) throw new Error('lab without a cell');
    const policies = cell.containers.map((container, index) => ({
      id: `policy-${index}`,
      source: { type: 'app', id: `app-${index}` },
      destination: {
        id: `dest-${index}`,
        name: `service for ${container.ip}`,
        ips: [{ start: SERVICE.ip, end: SERVICE.ip }],
        ports: [{ start: SERVICE.port, end: SERVICE.port }],
        protocol: 'tcp',
      },
    }));
    const policiesText = JSON.stringify({ total_egress_policies: policies.length, egress_policies: policies });
    const store: Record<string, unknown> = {};
    const writeStore = (): void => {
      const temporary = `${storeFile}.tmp`;
      writeFileSync(temporary, JSON.stringify(store));
      renameSync(temporary, storeFile);
    };
    const runner = netnsRunner(cell.ns);
    const syncCell = async (): Promise<void> => {
      const containers = parseContainers(readFileSync(storeFile, 'utf8'));
      await syncRecorded(
        { policiesDigest: textDigest(policiesText), policies: () => parsePolicies(policiesText), containers },
        { runner },
      );
    };
    // One sync at a time; a change during a sync runs one more.
    let running: Promise<void> | undefined;
    let again = false;
    const trigger = (): void => {
      if (running !== undefined) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          await syncCell();
        } while (again);
      })().finally(() => {
        running = undefined;
      });
    };
    writeStore();
    await syncCell();
    const watcher = watchContainersFiles({
      cells: [{ name: 'bench', netns: cell.ns, containers: storeFile }],
      onChange: trigger,
      log: silentLog,
    });
    const samples: number[] = [];
    let openBeforeListed = 0;
    try {
      for (const [index, container] of cell.containers.entries()) {
        if ((await lab.tcp(container, SERVICE.ip, SERVICE.port, 300)) === 'open') openBeforeListed += 1;
        store[`handle-${index}`] = {
          handle: `handle-${index}`,
          ip: container.ip,
          metadata: { app_id: `app-${index}`, space_id: 'space', org_id: 'org' },
        };
        const written = performance.now();
        writeStore();
        let elapsed = 0;
        for (;;) {
          const result = await lab.tcp(container, SERVICE.ip, SERVICE.port, 100);
          elapsed = performance.now() - written;
          if (result === 'open' || elapsed > GIVE_UP_MS) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        samples.push(Math.min(elapsed, GIVE_UP_MS));
        await running;
      }
    } finally {
      watcher.stop();
      await running;
    }
    return { samples, openBeforeListed };
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
