// One API route's Lambda: the shared function layout (lib/bundled-function.ts) whose role may call
// only the table actions the route lists in lambdas/api/route-functions.ts (none: no table access).
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeployedRoute } from '../lambdas/api/route-functions.js';
import { createBundledFunction } from './bundled-function.js';

export { PROJECT_ROOT } from './bundled-function.js';

export interface RouteFunctionProps {
  /** The route this function serves; its `entry` is bundled and its `tableActions` granted. */
  readonly route: DeployedRoute;
  /** The policy table; the function gets its name in `TABLE_NAME` if the route has table actions. */
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
    const readsTable = route.tableActions.length > 0;
    const parts = createBundledFunction(this, `RouteFunction ${route.name}`, {
      entry: route.entry,
      description: `dynamic-egress ${route.method} ${route.path}`,
      environment: readsTable ? { TABLE_NAME: table.tableName } : {},
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      memorySize: props.memorySize,
      timeout: props.timeout,
      projectRoot: props.projectRoot,
    });
    if (readsTable) table.grant(parts.role, ...route.tableActions);
    this.function = parts.function;
    this.logGroup = parts.logGroup;
    this.role = parts.role;
    this.entry = parts.entry;
  }
}
