// `npm run lab`: namespace cells that stay up after the command, for `EGRESS_LOCAL_CELLS=… npm start`.
// Builds a kept namespace lab (netns-lab.ts), writes each cell's containers file and the cells file
// local mode reads, and remembers what it started in the lab folder; `down` takes all of it away.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as z from 'zod/mini';
import { createLab, removeKeptLab } from './netns-lab.js';

export const DEFAULT_LAB_TAG = 'lab';
/** The external host: two "databases" and a web service, as in the demo and the README walkthrough. */
export const LAB_EXTERNAL = {
  addresses: ['198.51.100.10', '203.0.113.20'],
  tcpPorts: [80, 443, 3306, 5432],
  udpPorts: [53],
} as const;
/** Every lab container is in this space and org; each has an app of its own. */
export const LAB_SPACE_ID = '5ace0000-0000-4000-8000-000000000001';
export const LAB_ORG_ID = '0a600000-0000-4000-8000-000000000001';

/** The app of container `container` (0-based) on cell `cell` (0-based): a GUID, as CF's. */
export function labAppId(cell: number, container: number): string {
  return `a9900000-0000-4000-8000-${String(cell * 1000 + container).padStart(12, '0')}`;
}

export interface LabUpOptions {
  /** Where the cells file, the containers files and the lab's record go. */
  readonly dir: string;
  readonly cells: number;
  readonly containersPerCell: number;
  /** @default DEFAULT_LAB_TAG */
  readonly tag?: string;
}

export interface LabUp {
  readonly cellsFile: string;
  readonly external: typeof LAB_EXTERNAL;
  readonly cells: readonly {
    readonly name: string;
    readonly netns: string;
    readonly containersFile: string;
    readonly containers: readonly { readonly netns: string; readonly ip: string; readonly appId: string }[];
  }[];
}

const recordSchema = z.object({ tag: z.string() });
const RECORD_FILE = 'lab.json';

/** Limits that keep a lab inside one /24 per cell and a sane number of namespaces. */
export const MAX_LAB_CELLS = 8;
export const MAX_LAB_CONTAINERS = 50;

export async function labUp(options: LabUpOptions): Promise<LabUp> {
  const dir = resolve(options.dir);
  const tag = options.tag ?? DEFAULT_LAB_TAG;
  if (existsSync(join(dir, RECORD_FILE))) {
    throw new Error(`a lab is already up in ${dir}: take it down first (npm run lab -- down --dir ${options.dir})`);
  }
  for (const [name, value, max] of [
    ['cells', options.cells, MAX_LAB_CELLS],
    ['containers', options.containersPerCell, MAX_LAB_CONTAINERS],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new Error(`--${name} must be 1-${max}, got ${value}`);
  }
  const lab = await createLab({
    tag,
    keep: true,
    cells: Array.from({ length: options.cells }, () => ({ count: options.containersPerCell })),
    external: LAB_EXTERNAL,
  });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, RECORD_FILE), `${JSON.stringify({ tag })}\n`);
  const cells = [];
  for (const cell of lab.cells) {
    const name = `cell-${cell.index + 1}`;
    const containersFile = join(dir, name, 'store.json');
    const containers = cell.containers.map((container, index) => ({
      netns: container.ns,
      ip: container.ip,
      appId: labAppId(cell.index, index),
    }));
    const store = Object.fromEntries(
      containers.map((container, index) => {
        const handle = `${name}-container-${index + 1}`;
        const metadata = { app_id: container.appId, space_id: LAB_SPACE_ID, org_id: LAB_ORG_ID };
        return [handle, { handle, ip: container.ip, metadata }];
      }),
    );
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(containersFile, `${JSON.stringify(store, null, 2)}\n`);
    cells.push({ name, netns: cell.ns, containersFile, containers });
  }
  const cellsFile = join(dir, 'cells.json');
  const entries = cells.map((cell) => ({ name: cell.name, netns: cell.netns, containers: cell.containersFile }));
  await writeFile(cellsFile, `${JSON.stringify(entries, null, 2)}\n`);
  return { cellsFile, external: LAB_EXTERNAL, cells };
}

/** Takes the lab in `dir` down: its services, its namespaces, its files. Returns the namespaces removed. */
export async function labDown(options: { readonly dir: string; readonly tag?: string }): Promise<string[]> {
  const dir = resolve(options.dir);
  const recordPath = join(dir, RECORD_FILE);
  const record = existsSync(recordPath)
    ? recordSchema.parse(JSON.parse(await readFile(recordPath, 'utf8')))
    : { tag: options.tag ?? DEFAULT_LAB_TAG };
  const removed = await removeKeptLab(record.tag);
  await rm(dir, { recursive: true, force: true });
  return removed;
}
