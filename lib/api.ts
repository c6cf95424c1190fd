// The HTTP API: one JWT-authorized route and one Lambda per entry of lambdas/api/routes.ts, a throttled
// $default stage with JSON access logs. A validation refuses any route on this API without the JWT
// authorizer and the required scope, so a route added later cannot be left open by accident.
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnRoute,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { isSourceIdFormat, SOURCE_ID_FORMATS, type SourceIdFormat } from '../core/domain/schemas.js';
import type { DenyNetworks } from '../core/plan/network-settings.js';
import { DENY_NETWORKS_ENV, OVERLAY_CIDR_ENV } from '../lambdas/api/explain-settings.js';
import { DEPLOYED_ROUTES, type DeployedRoute } from '../lambdas/api/route-functions.js';
import { REQUIRED_SCOPE, ROUTES, type RouteName, routeKeyOf } from '../lambdas/api/routes.js';
import { DEFAULT_SOURCE_IDS, SOURCE_IDS_ENV } from '../lambdas/api/settings.js';
import { RouteFunction } from './route-function.js';

/** One line of JSON per request, using HTTP API `$context` variables. */
const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  subject: '$context.authorizer.claims.sub',
  clientId: '$context.authorizer.claims.client_id',
};

export interface ControlPlaneApiProps {
  /** The policy table every route function reads or writes. */
  readonly table: ITable;
  /** JWT issuer URL (`iss` claim), https. API Gateway fetches `<issuer>/.well-known/openid-configuration`. */
  readonly jwtIssuer: string;
  /** Accepted `aud` (or `client_id`) values; at least one. */
  readonly jwtAudience: readonly string[];
  /**
   * The routes to serve.
   * @default DEPLOYED_ROUTES (lambdas/api/routes.ts with route-functions.ts)
   */
  readonly routes?: readonly DeployedRoute[];
  /**
   * Steady-state requests per second allowed on the stage (all routes together).
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Burst of requests allowed on the stage above the rate.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Retention of the access logs and of every function's logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What a policy source's id must be: `guid`, a Cloud Foundry app or space GUID, or `identifier`,
   * any id of letters, digits and `._:-` (platforms whose apps are not CF's). Given to every route
   * function as EGRESS_SOURCE_IDS.
   * @default 'guid'
   */
  readonly sourceIds?: SourceIdFormat;
  /**
   * The cells' deny networks and container network: GET /explain plans with what the cells enforce.
   * Given to the explain function as EGRESS_DENY_NETWORKS and EGRESS_OVERLAY_CIDR.
   * @default - none, and the agent's default overlay
   */
  readonly denyNetworks?: DenyNetworks;
  readonly overlayCidr?: string;
  /**
   * Where the handlers' entries and package-lock.json are resolved from.
   * @default - this repository (see RouteFunction)
   */
  readonly projectRoot?: string;
}

export class ControlPlaneApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogGroup: LogGroup;
  /** The route functions, by route name. */
  readonly functions: ReadonlyMap<RouteName, RouteFunction>;
  /** The routes served, one API Gateway route each (the dashboard graphs each one). */
  readonly routes: readonly DeployedRoute[];

  constructor(scope: Construct, id: string, props: ControlPlaneApiProps) {
    super(scope, id);
    const routes = props.routes ?? DEPLOYED_ROUTES;
    this.routes = routes;
    const throttle: ThrottleSettings = {
      rateLimit: props.throttlingRateLimit ?? 50,
      burstLimit: props.throttlingBurstLimit ?? 100,
    };
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const sourceIds = props.sourceIds ?? DEFAULT_SOURCE_IDS;
    validateProps(props, throttle, routes, sourceIds);

    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      jwtAudience: [...props.jwtAudience],
      identitySource: ['$request.header.Authorization'],
    });
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'dynamic-egress policy API (Cloud Foundry external networking v1 compatible)',
      createDefaultStage: false,
      // Routes added by other constructs get the same protection unless they say otherwise,
      // and the validation below refuses them if they do.
      defaultAuthorizer: authorizer,
      defaultAuthorizationScopes: [REQUIRED_SCOPE],
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      // Per-route metrics (dimensions Method and Resource) for the dashboard; API Gateway writes them
      // only when asked, and CloudWatch bills them as custom metrics.
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const functions = new Map<RouteName, RouteFunction>();
    for (const route of routes) {
      const routeFunction = new RouteFunction(this, toConstructId(route.name), {
        route,
        table: props.table,
        logRetention,
        projectRoot: props.projectRoot,
      });
      routeFunction.function.addEnvironment(SOURCE_IDS_ENV, sourceIds);
      if (route.name === 'explain') {
        if (props.denyNetworks !== undefined) {
          routeFunction.function.addEnvironment(DENY_NETWORKS_ENV, JSON.stringify(props.denyNetworks));
        }
        if (props.overlayCidr !== undefined) routeFunction.function.addEnvironment(OVERLAY_CIDR_ENV, props.overlayCidr);
      }
      functions.set(route.name, routeFunction);
      this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${toConstructId(route.name)}Integration`, routeFunction.function),
        authorizer,
        authorizationScopes: [...route.scopes],
      });
    }
    this.functions = functions;

    this.node.addValidation({ validate: () => unprotectedRoutes(this.httpApi) });
  }

  /** The invoke URL of the $default stage. */
  get url(): string {
    return this.stage.url;
  }
}

function validateProps(
  props: ControlPlaneApiProps,
  throttle: ThrottleSettings,
  routes: readonly DeployedRoute[],
  sourceIds: string,
) {
  if (!/^https:\/\/[^\s/]+/.test(props.jwtIssuer)) {
    throw new Error(`ControlPlaneApi: jwtIssuer must be an https URL, got '${props.jwtIssuer}'`);
  }
  if (props.jwtAudience.length === 0 || props.jwtAudience.some((audience) => audience.trim() === '')) {
    throw new Error(
      `ControlPlaneApi: jwtAudience needs at least one non-empty value, got ${JSON.stringify(props.jwtAudience)}`,
    );
  }
  const { rateLimit = 0, burstLimit = 0 } = throttle;
  if (!(rateLimit > 0)) {
    throw new Error(`ControlPlaneApi: throttlingRateLimit must be a positive number, got ${rateLimit}`);
  }
  if (!Number.isInteger(burstLimit) || burstLimit <= 0) {
    throw new Error(`ControlPlaneApi: throttlingBurstLimit must be a positive integer, got ${burstLimit}`);
  }
  if (routes.length === 0) {
    throw new Error('ControlPlaneApi: no routes given');
  }
  if (!isSourceIdFormat(sourceIds)) {
    throw new Error(
      `ControlPlaneApi: sourceIds must be ${SOURCE_ID_FORMATS.join(' or ')}, got ${JSON.stringify(sourceIds)}`,
    );
  }
}

/** `list-destinations` → `ListDestinations`: construct ids are part of the contract, keep them stable. */
function toConstructId(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * Messages for every route on the API that is not JWT-authorized with exactly its route table
 * scopes (routes.ts); a route the table does not know must require REQUIRED_SCOPE.
 */
function unprotectedRoutes(api: HttpApi): string[] {
  const expected = new Map(ROUTES.map((route) => [routeKeyOf(route), route.scopes]));
  return api.node
    .findAll()
    .filter((child): child is CfnRoute => child instanceof CfnRoute)
    .flatMap((route) => {
      const scopes = expected.get(route.routeKey) ?? [REQUIRED_SCOPE];
      const granted = route.authorizationScopes ?? [];
      const exact = granted.length === scopes.length && scopes.every((scope) => granted.includes(scope));
      if (route.authorizationType === 'JWT' && exact) return [];
      return [
        `route '${route.routeKey}' must use the JWT authorizer with scopes ${JSON.stringify(scopes)}, got authorizationType ${route.authorizationType ?? 'NONE'} and scopes ${JSON.stringify(granted)}`,
      ];
    });
}
