// Where local mode keeps its state: `.local/` in the project (git-ignored), or EGRESS_LOCAL_DIR.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function localStateDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return resolve(env.EGRESS_LOCAL_DIR ?? join(projectRoot, '.local'));
}

/**
 * Where local cells keep what they applied (the agent's --state-dir, /var/lib/dynamic-egress on a
 * cell). An in-memory run gets its own folder, emptied when it starts and stops: its table is new,
 * so nothing a cell recorded in another run applies to it.
 */
export function cellStateRoot(stateDir: string, inMemory: boolean): string {
  return join(stateDir, inMemory ? 'in-memory-cells' : 'cells');
}
