// The import rules of .dependency-cruiser.cjs, proven on a throwaway tree with this repository's folder
// names: every planted wrong-way import is reported under the rule meant for it, and the allowed
// directions are reported under none. (`npm run lint` applies the same rules to the real tree.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** path → content of the throwaway tree. Each module exports something so that imports are real. */
const TREE: Readonly<Record<string, string>> = {
  // Wrong-way imports, one per rule.
  'core/a.ts': "import { b } from '../lambdas/b.js';\nexport const a = b;\n",
  'lambdas/c.ts': "import { d } from '../local/d.js';\nexport const c = d;\n",
  'agent/e.ts': "import { f } from '../lambdas/f.js';\nexport const e = f;\n",
  'lib/g.ts': "import { h } from '../local/h.js';\nexport const g = h;\n",
  'core/domain/server.ts': "import { createServer } from 'node:http';\nexport const server = createServer;\n",
  'core/domain/classic.ts': "import { z } from 'zod';\nexport const classic = z.string();\n",
  'core/cycle-one.ts': "import { two } from './cycle-two.js';\nexport const one = () => two;\n",
  'core/cycle-two.ts': "import { one } from './cycle-one.js';\nexport const two = () => one;\n",
  'bundling/fixture.ts': "import { helper } from '../test/helper.js';\nexport const fixture = helper;\n",
  'lambdas/dev.ts': "import { jwtVerify } from 'jose';\nexport const dev = jwtVerify;\n",
  'bin/agent.ts': "import { jwtVerify } from 'jose';\nexport const agentEntry = jwtVerify;\n",
  'ctl/handler-user.ts': "import { b } from '../lambdas/b.js';\nexport const handlerUser = b;\n",
  'local/ctl-user.ts': "import { routesUser } from '../ctl/uses-routes.js';\nexport const ctlUser = routesUser;\n",
  // Their targets, and what the allowed imports point at.
  'lambdas/b.ts': 'export const b = 1;\n',
  'lambdas/f.ts': 'export const f = 1;\n',
  'local/d.ts': 'export const d = 1;\n',
  'local/h.ts': 'export const h = 1;\n',
  'test/helper.ts': 'export const helper = 1;\n',
  'core/shared.ts': 'export const shared = 1;\n',
  // Allowed directions.
  'lambdas/uses-core.ts': "import { shared } from '../core/shared.js';\nexport const usesCore = shared;\n",
  'local/uses-lambdas.ts': "import { b } from '../lambdas/b.js';\nexport const usesLambdas = b;\n",
  'agent/uses-core.ts': "import { shared } from '../core/shared.js';\nexport const agentUsesCore = shared;\n",
  'lib/uses-lambdas.ts': "import { b } from '../lambdas/b.js';\nexport const libUsesLambdas = b;\n",
  'core/domain/mini.ts': "import { z } from 'zod/mini';\nexport const mini = z.string();\n",
  'local/uses-dev.ts': "import { jwtVerify } from 'jose';\nexport const localUsesDev = jwtVerify;\n",
  'bin/local.ts': "import { jwtVerify } from 'jose';\nexport const localEntry = jwtVerify;\n",
  'ctl/uses-routes.ts':
    "import { routes } from '../lambdas/api/routes.js';\nimport { key } from '../local/api/issuer.js';\n" +
    "import { shared } from '../core/shared.js';\nexport const routesUser = [routes, key, shared];\n",
  'lambdas/api/routes.ts': 'export const routes = 1;\n',
  'local/api/issuer.ts': 'export const key = 1;\n',
  'bin/egressctl.ts': "import { routesUser } from '../ctl/uses-routes.js';\nexport const ctlEntry = routesUser;\n",
  'lambdas/event-type.ts':
    "import type { APIGatewayProxyEventV2 } from 'aws-lambda';\nexport type Event = APIGatewayProxyEventV2;\n",
  // Stand-ins for the packages, with the project's split into dependencies and devDependencies.
  'package.json': JSON.stringify({
    name: 'import-rules-fixture',
    type: 'module',
    dependencies: { zod: '*' },
    devDependencies: { jose: '*', '@types/aws-lambda': '*' },
  }),
  'tsconfig.json': JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true },
  }),
  'node_modules/zod/package.json': JSON.stringify({
    name: 'zod',
    type: 'module',
    exports: { '.': './index.js', './mini': './mini/index.js' },
  }),
  'node_modules/zod/index.js': 'export const z = {};\n',
  'node_modules/zod/mini/index.js': 'export const z = {};\n',
  'node_modules/jose/package.json': JSON.stringify({ name: 'jose', type: 'module', exports: './index.js' }),
  'node_modules/jose/index.js': 'export const jwtVerify = () => undefined;\n',
  'node_modules/@types/aws-lambda/package.json': JSON.stringify({ name: '@types/aws-lambda', types: 'index.d.ts' }),
  'node_modules/@types/aws-lambda/index.d.ts': 'export interface APIGatewayProxyEventV2 { rawPath: string }\n',
};

const SCANNED = ['core', 'lambdas', 'agent', 'ctl', 'local', 'lib', 'bundling', 'bin'];

let root = '';
let result: ICruiseResult;

/** "from → to" of every violation of `rule`. */
function violationsOf(rule: string): string[] {
  return (result.summary.violations ?? [])
    .filter((violation) => violation.rule.name === rule)
    .map((violation) => `${violation.from} → ${violation.to}`);
}

function allViolations(): string[] {
  return (result.summary.violations ?? []).map((violation) => `${violation.from} → ${violation.to}`);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'import-rules-'));
  for (const [path, content] of Object.entries(TREE)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  const options = await extractDepcruiseOptions(join(PROJECT_ROOT, '.dependency-cruiser.cjs'));
  const output = await cruise(
    SCANNED,
    { ...options, baseDir: root, outputType: 'json' },
    {},
    { tsConfig: extractTSConfig(join(root, 'tsconfig.json')) },
  );
  result = (typeof output.output === 'string' ? JSON.parse(output.output) : output.output) as ICruiseResult;
}, 30_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the import rules', () => {
  it.each([
    ['core-imports-only-core', 'core/a.ts → lambdas/b.ts'],
    ['lambdas-import-only-core', 'lambdas/c.ts → local/d.ts'],
    ['agent-imports-only-core', 'agent/e.ts → lambdas/f.ts'],
    ['cdk-app-not-local-mode', 'lib/g.ts → local/h.ts'],
    ['domain-is-plain', 'core/domain/server.ts → http'],
    ['runtime-uses-zod-mini', 'core/domain/classic.ts → node_modules/zod/index.js'],
    ['production-not-tests', 'bundling/fixture.ts → test/helper.ts'],
    ['ctl-talks-http', 'ctl/handler-user.ts → lambdas/b.ts'],
    ['ctl-is-an-entry-only-for-bin', 'local/ctl-user.ts → ctl/uses-routes.ts'],
  ])('%s reports %s', (rule, violation) => {
    expect(violationsOf(rule)).toEqual([violation]);
  });

  it('runtime-uses-dependencies reports a Lambda and the agent entry using a devDependency', () => {
    expect(violationsOf('runtime-uses-dependencies').sort()).toEqual([
      'bin/agent.ts → node_modules/jose/index.js',
      'lambdas/dev.ts → node_modules/jose/index.js',
    ]);
  });

  it('no-circular reports the cycle (once, from one of its modules)', () => {
    expect(violationsOf('no-circular')).toEqual([
      expect.stringMatching(/^core\/cycle-(one|two)\.ts → core\/cycle-(one|two)\.ts$/),
    ]);
  });

  it('reports none of the allowed imports', () => {
    const allowed = [
      'lambdas/uses-core.ts',
      'local/uses-lambdas.ts',
      'agent/uses-core.ts',
      'lib/uses-lambdas.ts',
      'core/domain/mini.ts',
      'local/uses-dev.ts',
      'lambdas/event-type.ts',
      'bin/local.ts',
      'ctl/uses-routes.ts',
      'bin/egressctl.ts',
    ];
    // They are cruised (so their silence means something)...
    const cruised = result.modules.map((module) => module.source);
    expect(cruised).toEqual(expect.arrayContaining(allowed));
    // ...and none of them is the source of a violation.
    expect(allViolations().filter((violation) => allowed.some((file) => violation.startsWith(`${file} `)))).toEqual([]);
  });

  it('reports nothing but the planted imports', () => {
    expect(allViolations()).toHaveLength(12);
  });
});
