// GIVEN a synth that bundles (one function as every function of the stack is laid out, and the agent
// asset), THEN it prints nothing by default — neither CDK's "Bundling asset …" line nor esbuild's
// summary — yet the bundles are built; with DYNEG_BUNDLING_VERBOSE=1 both show. Each synth runs in
// its own process: esbuild writes to the inherited stderr, which only a child's pipe sees.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLING_VERBOSE_ENV } from '../../bundling/quiet-bundling.js';
import { PROJECT_ROOT } from '../../lib/bundled-function.js';

const execFileAsync = promisify(execFile);
const SCRIPT = join(PROJECT_ROOT, 'test/lib/fixtures/synth-bundled.ts');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function synth(extraEnv: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), 'dynamic-egress-quiet-'));
  dirs.push(outdir);
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  if (!(BUNDLING_VERBOSE_ENV in extraEnv)) delete env[BUNDLING_VERBOSE_ENV];
  delete env.CDK_DEBUG;
  const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', SCRIPT, outdir], {
    cwd: PROJECT_ROOT,
    env,
    timeout: 60_000,
  });
  const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
  const files = assets.flatMap((asset) =>
    asset.endsWith('.mjs') ? [asset.replace(/^asset\.[0-9a-f]+/, '')] : readdirSync(join(outdir, asset)),
  );
  return { output: stdout + stderr, files: files.sort() };
}

describe('synth with bundling', () => {
  it('prints nothing by default, and still builds the function bundle and the agent', async () => {
    const { output, files } = await synth({});
    expect(output).toBe('');
    expect(files).toEqual(['.mjs', 'index.mjs', 'index.mjs.map']);
  });

  it("prints CDK's line per asset and esbuild's summary with DYNEG_BUNDLING_VERBOSE=1", async () => {
    const { output } = await synth({ [BUNDLING_VERBOSE_ENV]: '1' });
    expect(output).toContain('Bundling asset Quiet/Function/Code/Stage...');
    expect(output).toContain('Bundling asset Quiet/Agent/Bundle/Stage...');
    expect(output).toMatch(/index\.mjs\s+\d/);
    expect(output).toMatch(/agent\.mjs\s+\d/);
  });
});
