// One API route's Lambda: the handler bundled with local esbuild, its own log group with bounded
// retention, and its own role that may write only that log group and call only the table actions the
// route lists in lambdas/api/routes.ts.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../lambdas/api/routes.js';

/** The repository root: handler entries in ROUTES are relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Gives CommonJS dependencies inside the ESM bundle a working `require`. */
const REQUIRE_BANNER =
  "import { createRequire as __bannerCreateRequire } from 'node:module'; const require = __bannerCreateRequire(import.meta.url);";

export interface RouteFunctionProps {
  /** The route this function serves; its `entry` is bundled and its `tableActions` granted. */
  readonly route: RouteDefinition;
  /** The policy table; the function gets its name in `TABLE_NAME`. */
  readonly table: ITable;
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
  /**
   * Function timeout; API Gateway gives up after 30 s anyway.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Where `route.entry` and package-lock.json are resolved from.
   * @default PROJECT_ROOT (this repository)
   */
  readonly projectRoot?: string;
}

export class RouteFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;
  /** The handler module that is bundled (absolute path). */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: RouteFunctionProps) {
    super(scope, id);
    const { route, table } = props;
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    this.entry = join(projectRoot, route.entry);
    const memorySize = props.memorySize ?? 512;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) {
      throw new Error(
        `RouteFunction ${route.name}: memorySize must be an integer from 128 to 10240, got ${memorySize}`,
      );
    }
    if (route.tableActions.length === 0) {
      throw new Error(`RouteFunction ${route.name}: a route needs at least one table action, got none`);
    }

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, which would allow
    // writing to every log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `dynamic-egress ${route.method} ${route.path}`,
    });
    this.logGroup.grantWrite(this.role);
    table.grant(this.role, ...route.tableActions);

    this.function = new NodejsFunction(this, 'Function', {
      description: `dynamic-egress ${route.method} ${route.path}`,
      entry: this.entry,
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        TABLE_NAME: table.tableName,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        // Stack traces need the mappings, not a copy of every source file.
        sourcesContent: false,
        // Bundle the SDK: the version the tests ran, tree-shaken, in one file (see docs/deploy.md).
        bundleAwsSDK: true,
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x (Node 22 LTS, in maintenance until April 2027) is the runtime the handlers are built for (esbuild target node22) and tested on; moving to nodejs24.x is a deliberate upgrade after the suite runs on Node 24, not a side effect of a cdk-nag release.',
    });
  }
}
