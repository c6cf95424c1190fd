// The Lambda layout every function of this stack shares: the handler bundled with local esbuild into
// one ESM file (nodejs22.x, arm64, JSON logs, source maps), its own log group with bounded retention,
// and its own role that may write only that log group. Callers add their grants to `role`. Bundling is
// quiet unless DYNEG_BUNDLING_VERBOSE=1 (bundling/quiet-bundling.ts).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ESM_REQUIRE_BANNER } from '../bundling/esm-require-banner.js';
import { bundlingLogLevel, withQuietBundling } from '../bundling/quiet-bundling.js';

/** The repository root: handler entries are relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Credential providers the SDK's default chain imports lazily, only after the environment's
 * credentials are missing. Lambda always provides them (AWS_ACCESS_KEY_ID and friends), so these
 * are never loaded there; leaving them out of the bundle saves about a fifth of its size.
 */
export const NEVER_LOADED_IN_LAMBDA = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
  '@smithy/credential-provider-imds',
] as const;

export interface BundledFunctionProps {
  /** Handler module, relative to `projectRoot`; it must export `handler`. */
  readonly entry: string;
  /** Description of the function and of its role. */
  readonly description: string;
  /** Environment besides `NODE_OPTIONS`. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the function's log group when it leaves the stack.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Memory in MiB; Lambda gives CPU in proportion, which shortens cold starts.
   * @default 512
   */
  readonly memorySize?: number;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /**
   * Where `entry` and package-lock.json are resolved from.
   * @default PROJECT_ROOT (this repository)
   */
  readonly projectRoot?: string;
}

export interface BundledFunctionParts {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;
  /** The handler module that is bundled (absolute path). */
  readonly entry: string;
}

/**
 * Creates `Logs`, `Role` and `Function` as children of `scope` (ids are part of the contract: they
 * name the CloudFormation resources). Throws on a memory size Lambda does not offer, with `label`.
 */
export function createBundledFunction(
  scope: Construct,
  label: string,
  props: BundledFunctionProps,
): BundledFunctionParts {
  const projectRoot = props.projectRoot ?? PROJECT_ROOT;
  const entry = join(projectRoot, props.entry);
  const memorySize = props.memorySize ?? 512;
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) {
    throw new Error(`${label}: memorySize must be an integer from 128 to 10240, got ${memorySize}`);
  }

  const logGroup = new LogGroup(scope, 'Logs', {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
  });
  // An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, which would allow
  // writing to every log group in the account.
  const role = new Role(scope, 'Role', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: props.description,
  });
  logGroup.grantWrite(role);

  const functionProps: NodejsFunctionProps = {
    description: props.description,
    entry,
    handler: 'handler',
    projectRoot,
    depsLockFilePath: join(projectRoot, 'package-lock.json'),
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize,
    timeout: props.timeout ?? Duration.seconds(10),
    role,
    logGroup,
    loggingFormat: LoggingFormat.JSON,
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      minify: true,
      sourceMap: true,
      // Stack traces need the mappings, not a copy of every source file.
      sourcesContent: false,
      // Bundle the SDK: the version the tests ran, tree-shaken, in one file (see docs/deploy.md).
      bundleAwsSDK: true,
      externalModules: [...NEVER_LOADED_IN_LAMBDA],
      forceDockerBundling: false,
      // esbuild's summary per bundle (files, sizes, time) only when asked; warnings and errors always.
      logLevel: bundlingLogLevel() === 'info' ? LogLevel.INFO : LogLevel.WARNING,
    },
  };
  // The constructor bundles, synchronously: CDK's "Bundling asset …" line is dropped meanwhile.
  const fn = withQuietBundling(() => new NodejsFunction(scope, 'Function', functionProps));
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'nodejs22.x (Node 22 LTS, in maintenance until April 2027) is the runtime the handlers are built for (esbuild target node22) and tested on; moving to nodejs24.x is a deliberate upgrade after the suite runs on Node 24, not a side effect of a cdk-nag release.',
  });
  return { function: fn, logGroup, role, entry };
}
