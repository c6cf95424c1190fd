// Each Lambda bundle (every route function and the fan-out) as `cdk synth` stages it: its size, and its cold import time
// (median of fresh `node` processes importing index.mjs, with and without --enable-source-maps, which
// the functions run with), against an empty ES module imported the same way in the same run.
// The "largest inputs" table comes from an esbuild run with the same settings and a metafile.
// Goal from the issue: under 300 KB and 150 ms. Prints only; never fails on time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { build } from 'esbuild';
import { NEVER_LOADED_IN_LAMBDA } from '../lib/bundled-function.js';
import { FANOUT_ENTRY } from '../lib/fanout.js';
import { DynamicEgressStack } from '../lib/stack.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const workDir = mkdtempSync(join(tmpdir(), 'dynamic-egress-bundles-'));

const IMPORT_TIMER = `
const started = performance.now();
await import(process.argv[1]);
process.stdout.write(String(performance.now() - started));
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Median ms from `import()` to its resolution, each run in a fresh process (a cold start's module load). */
function coldImportMs(file: string, nodeFlags: string[] = []): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const output = execFileSync(
      process.execPath,
      [...nodeFlags, '--input-type=module', '--eval', IMPORT_TIMER, pathToFileURL(file).href],
      { env: { ...process.env, TABLE_NAME: 'bench', AWS_REGION: 'us-east-1' }, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    times.push(Number(output.toString()));
  }
  return median(times);
}

const kb = (bytes: number) => bytes / 1024;
const pad = (text: string, width: number) => text.padEnd(width);
const num = (value: number, width = 8, digits = 1) => value.toFixed(digits).padStart(width);

try {
  // GIVEN every route's bundle, built by the real construct (bundling runs while constructing).
  const app = new App({ outdir: join(workDir, 'cdk.out'), builtinCloudFormationValidation: false });
  const stack = new DynamicEgressStack(app, 'Bench', { jwtIssuer: 'https://issuer.invalid', jwtAudience: ['bench'] });
  const bundleOf = (fn: NodejsFunction): string =>
    join(app.outdir, (fn.node.findChild('Code') as Asset).assetPath, 'index.mjs');
  const bundles = [
    ...[...stack.api.functions].map(([name, routeFunction]) => ({
      name,
      entry: routeFunction.entry,
      file: bundleOf(routeFunction.function),
    })),
    // Not a route: it also carries the SSM client and Powertools Metrics.
    { name: 'fanout', entry: FANOUT_ENTRY, file: bundleOf(stack.fanout.function) },
  ];

  const empty = join(workDir, 'empty.mjs');
  writeFileSync(empty, 'export const handler = async () => ({ statusCode: 204 });\n');
  const baseline = coldImportMs(empty);
  const baselineMaps = coldImportMs(empty, ['--enable-source-maps']);

  console.log(`\nbundles (median of ${RUNS} fresh node ${process.version} processes; baseline: empty ESM module)`);
  console.log(
    `${pad('function', 24)}${'KB'.padStart(8)}${'map KB'.padStart(9)}${'import ms'.padStart(11)}${'x base'.padStart(8)}${'+maps ms'.padStart(10)}${'x base'.padStart(8)}`,
  );
  console.log(
    `${pad('(baseline: empty module)', 24)}${num(0)}${num(0, 9)}${num(baseline, 11)}${num(1, 8)}${num(baselineMaps, 10)}${num(1, 8)}`,
  );
  for (const bundle of bundles) {
    const size = statSync(bundle.file).size;
    const mapSize = statSync(`${bundle.file}.map`).size;
    const plain = coldImportMs(bundle.file);
    const withMaps = coldImportMs(bundle.file, ['--enable-source-maps']);
    console.log(
      `${pad(bundle.name, 24)}${num(kb(size))}${num(kb(mapSize), 9)}${num(plain, 11)}${num(plain / baseline, 8)}${num(withMaps, 10)}${num(withMaps / baselineMaps, 8)}`,
    );
  }
  console.log('goal: < 300 KB and < 150 ms (import ms with source maps is what Lambda runs)');

  // WHAT DOMINATES: the same esbuild settings as RouteFunction, with a metafile, for one handler.
  const sample = bundles.find((bundle) => bundle.name === 'create-destinations') ?? bundles[0];
  if (sample) {
    const result = await build({
      entryPoints: [sample.entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      minify: true,
      write: false,
      metafile: true,
      external: [...NEVER_LOADED_IN_LAMBDA],
      outfile: join(workDir, 'analysis.mjs'),
      logLevel: 'silent',
    });
    const output = Object.values(result.metafile.outputs)[0];
    const byPackage = new Map<string, number>();
    for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = match?.[1] ?? 'project code (core/, lambdas/)';
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
    const total = [...byPackage.values()].reduce((sum, bytes) => sum + bytes, 0);
    console.log(`\nlargest inputs of ${sample.name} (${num(kb(total), 0)} KB minified)`);
    for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      console.log(`${pad(name, 40)}${num(kb(bytes))} KB${num((100 * bytes) / total, 6, 0)} %`);
    }
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
