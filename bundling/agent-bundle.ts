// The cell agent as one bundled file, built the same way for AWS cells (lib/agent-asset.ts, the S3
// asset) and for local mode, which starts it fresh for every sync like a cell does; local mode builds
// it once per `npm start` (esbuild, a fraction of a second).
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER } from './esm-require-banner.js';

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
  banner: { js: ESM_REQUIRE_BANNER },
} as const;

export async function bundleAgent(outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'agent.mjs');
  await build({ ...AGENT_BUNDLE_OPTIONS, entryPoints: [AGENT_ENTRY], outfile, logLevel: 'warning' });
  return outfile;
}
