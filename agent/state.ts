// What this cell applied last, kept on the cell: the version and its epoch (so the agent never goes
// back to an older version of the same table) and the snapshot itself (so an unchanged version costs
// no snapshot read).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { writeWhole } from './write-whole.js';

const APPLIED_FILE = 'applied.json';
const SNAPSHOT_FILE = 'snapshot.json.gz';
/** Present while the proxy's redirects were taken away by a sync from the cell's copy (converge.ts). */
const PROXY_DROPPED_FILE = 'proxy-dropped';

const appliedSchema = z.object({
  version: z.number().check(z.int(), z.gte(0)),
  sha256: z.string(),
  appliedAt: z.string(),
  // The table's identity (core/store/table-epoch.ts); absent when applied before epochs existed.
  epoch: z.optional(z.string()),
  // 'shards': the cached bytes are the cell's own shards (source/shards.ts); absent: a whole snapshot.
  layout: z.optional(z.literal('shards')),
  // The input digest the kernel's record names after this apply (recorded-sync.ts); absent before.
  input: z.optional(z.string()),
  // How many sets the apply held (recorded-sync.ts: expectedSets); absent before.
  sets: z.optional(z.number().check(z.int(), z.gte(0))),
});

export type AppliedState = z.output<typeof appliedSchema>;

export class AgentState {
  constructor(private readonly dir: string) {}

  /** The last applied state; undefined on a new cell or if the file is unreadable (then we re-read everything). */
  applied(): AppliedState | undefined {
    try {
      const parsed = z.safeParse(appliedSchema, JSON.parse(readFileSync(join(this.dir, APPLIED_FILE), 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  cachedSnapshot(): Buffer | undefined {
    try {
      return readFileSync(join(this.dir, SNAPSHOT_FILE));
    } catch {
      return undefined;
    }
  }

  /**
   * Records a successful apply; the snapshot first, so applied.json never names a snapshot we lack.
   * Asynchronous: a rename over an existing file waits for its data to reach the disk (ext4), about
   * a millisecond each, which local mode's many cells would otherwise wait for in turn.
   */
  async recordApplied(state: AppliedState, snapshot: Buffer): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.writeAtomically(SNAPSHOT_FILE, snapshot);
    await this.writeAtomically(APPLIED_FILE, Buffer.from(`${JSON.stringify(state)}\n`));
  }

  /**
   * Whether a sync from the cell's own copy took the proxy's redirects away since the last proxy
   * step: the proxy step's own record then no longer says what is in force.
   */
  proxyDropped(): boolean {
    return existsSync(join(this.dir, PROXY_DROPPED_FILE));
  }

  markProxyDropped(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dir, PROXY_DROPPED_FILE), '');
  }

  clearProxyDropped(): void {
    rmSync(join(this.dir, PROXY_DROPPED_FILE), { force: true });
  }

  private async writeAtomically(name: string, data: Buffer): Promise<void> {
    await writeWhole(join(this.dir, name), data);
  }
}
