// Local mode runs the agent the way cells do: one bundled file, started fresh for every sync. The
// bundle is built once per `npm start` (esbuild, a fraction of a second).
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const AGENT_ENTRY = join(projectRoot, 'bin', 'agent.ts');

/** Options shared with the stack's agent asset, so local cells and AWS cells run the same build. */
export const AGENT_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
} as const;

export async function bundleAgent(outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'agent.mjs');
  await build({ ...AGENT_BUNDLE_OPTIONS, entryPoints: [AGENT_ENTRY], outfile, logLevel: 'warning' });
  return outfile;
}
