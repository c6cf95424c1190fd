// Where local mode keeps its state: `.local/` in the project (git-ignored), or EGRESS_LOCAL_DIR.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function localStateDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return resolve(env.EGRESS_LOCAL_DIR ?? join(projectRoot, '.local'));
}
