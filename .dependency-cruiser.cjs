// The import direction of this repository as checked rules (`npm run lint`). Parts, roughly inside out:
//   core/      domain model and the table's stores: what everything else builds on
//   lambdas/   the Lambda handlers (and the operations local mode serves)
//   agent/     the cell agent that runs on the cells
//   lib/ bin/  the CDK app and the command-line entry points
//   bundling/  esbuild settings shared by the CDK app and local mode
//   ctl/       egressctl, the operators' CLI: an HTTP client of the API
//   local/     local mode (DynamoDB Local, a local issuer, cells in network namespaces)
//   bench/ test/
// An arrow may only point inwards; test/architecture/import-rules.test.ts plants one wrong-way import
// per rule to prove each rule fires.

/** Code that runs in Lambda or on the cells (bin/agent.ts is the agent bundle's entry). */
const RUNTIME = ['^(core|lambdas|agent)/', '^bin/agent[.]ts$'];
/** Everything that is not a test or a benchmark. */
const PRODUCTION = '^(core|lambdas|agent|ctl|lib|local|bundling|bin)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment:
        'core/ is the shared model every part builds on; importing a part that builds on it would make the ' +
        'Lambdas, the agent and local mode load each other. Move what is shared into core/.',
      from: { path: '^core/' },
      to: { path: '^(lambdas|local|lib|bin|agent|bundling|bench|test)/' },
    },
    {
      name: 'lambdas-import-only-core',
      severity: 'error',
      comment:
        'A Lambda bundle holds the handler and what it imports: an import of local mode, the CDK app, the ' +
        'agent or tests would ship them to Lambda (or fail there). Shared code belongs in core/.',
      from: { path: '^lambdas/' },
      to: { path: '^(local|lib|bin|agent|bench|test)/' },
    },
    {
      name: 'agent-imports-only-core',
      severity: 'error',
      comment:
        'The agent runs alone on the cells, bundled into one file: it may use core/, not the control plane ' +
        '(lambdas/), local mode, the CDK app or the command-line entry points.',
      from: { path: '^agent/' },
      to: { path: '^(lambdas|local|lib|bin)/' },
    },
    {
      name: 'cdk-app-not-local-mode',
      severity: 'error',
      comment:
        'The CDK app must synthesize without local mode (DynamoDB Local, the local issuer, network ' +
        'namespaces). What both need, such as the agent bundle settings, lives in bundling/.',
      from: { path: '^lib/' },
      to: { path: '^local/' },
    },
    {
      name: 'ctl-talks-http',
      severity: 'error',
      comment:
        'egressctl is a client of the API over HTTP: it may use core/ (types, schemas, validation), the route ' +
        "table (lambdas/api/routes.ts, pure data) and local mode's state files (paths, pid file, issuer key) to " +
        'find a local API, never the handlers, the stores behind them, the agent or the CDK app.',
      from: { path: '^ctl/' },
      to: {
        path: '^(lambdas|local|lib|bin|agent|bundling)/',
        pathNot: '^(lambdas/api/routes|local/paths|local/pid-file|local/api/issuer)[.]ts$',
      },
    },
    {
      name: 'ctl-is-an-entry-only-for-bin',
      severity: 'error',
      comment: 'Only its entry point (bin/egressctl.ts) loads egressctl; nothing else builds on a command line.',
      from: { path: '^(core|lambdas|agent|lib|local|bundling)/' },
      to: { path: '^ctl/' },
    },
    {
      name: 'domain-is-plain',
      severity: 'error',
      comment:
        'core/domain is the plain model (validation, snapshots, IPv4): no AWS SDK, Lambda event types, ' +
        'middy, Powertools or HTTP server, so the agent, local mode and every handler can use it without them. Adapters ' +
        'belong in core/store or lambdas/.',
      from: { path: '^core/domain/' },
      to: {
        path: [
          '(^|/)node_modules/@aws-sdk/',
          '(^|/)node_modules/@smithy/',
          '(^|/)node_modules/@types/aws-lambda/',
          '(^|/)node_modules/@middy/',
          '(^|/)node_modules/@aws-lambda-powertools/',
          '^(node:)?(http|https|http2)$',
        ],
      },
    },
    {
      name: 'runtime-uses-zod-mini',
      severity: 'error',
      comment:
        "Lambdas and the agent are bundled: classic 'zod' adds about 60 KB to every bundle, 'zod/mini' " +
        'validates the same with functions that tree-shake. Import from zod/mini.',
      from: { path: RUNTIME },
      to: {
        path: '(^|/)node_modules/zod/',
        pathNot: '(^|/)node_modules/zod/(mini|v4-mini|v4/mini|v4/core|locales|v4/locales)/',
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle makes load order matter (an import can see another module half-initialized) and ties ' +
        'the modules in it together: none of them can be understood, tested or bundled alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'production-not-tests',
      severity: 'error',
      comment:
        'Tests and benchmarks may use production code, never the other way round: their helpers and ' +
        'fixtures are not part of what is deployed or run.',
      from: { path: PRODUCTION },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'runtime-uses-dependencies',
      severity: 'error',
      comment:
        'What runs in Lambda or on the cells may import only packages listed in `dependencies`: ' +
        'devDependencies (local mode, tests, build, CDK) and unlisted packages are not meant to ship. ' +
        'Type-only imports vanish when compiled, so they may use @types packages.',
      from: { path: RUNTIME },
      to: { dependencyTypes: ['npm-dev', 'npm-no-pkg', 'npm-unknown'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count too: they are what ties a module to another part, even when compiled away.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages the way Node (and esbuild) do for ESM, through their `exports`.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
