// The CloudWatch dashboard an operator opens first: the API per route, the fan-out and its schedule,
// the commands to the cells, how far the cells are behind (metrics the scheduled republish writes),
// and the state of every alarm. One graph line per route, from the routes the API serves, so a new
// route shows up without touching this file.
import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IWidget,
  Metric,
  type MetricOptions,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IRule } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../lambdas/api/routes.js';
import { FANOUT_METRIC_NAMES, type FanoutRun, TRIGGER_DIMENSION } from '../lambdas/fanout/fanout-metrics.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambdas/shared/service-names.js';

export interface ControlPlaneDashboardProps {
  /** The HTTP API whose routes are graphed. */
  readonly httpApi: IHttpApi;
  /** Its stage; per-route metrics need `detailedMetricsEnabled` on it (lib/api.ts sets it). */
  readonly stageName: string;
  /** The routes the API serves, one line each (ControlPlaneApi.routes). */
  readonly routes: readonly Pick<RouteDefinition, 'name' | 'method' | 'path'>[];
  /** The fan-out function: both the stream batches and the scheduled republish run in it. */
  readonly fanout: IFunction;
  /** The schedule that invokes the republish. */
  readonly republishRule: IRule;
  /** Every alarm to show; pass them once all are added (ControlPlaneAlarms.alarms). */
  readonly alarms: readonly IAlarm[];
}

/** Graph period: the republish writes its cell metrics every 5 minutes by default. */
const PERIOD = Duration.minutes(5);
const FULL = 24;
const HALF = 12;
const THIRD = 8;
const HEIGHT = 6;

export class ControlPlaneDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ControlPlaneDashboardProps) {
    super(scope, id);
    if (props.routes.length === 0) throw new Error('ControlPlaneDashboard: no routes given');
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '## dynamic-egress\nAPI per route, the fan-out, commands to the cells, cell convergence and every alarm (docs/deploy.md, "The dashboard").',
        width: FULL,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(...apiWidgets(props));
    this.dashboard.addWidgets(...fanoutWidgets(props));
    this.dashboard.addWidgets(...cellWidgets());
    this.dashboard.addWidgets(
      new AlarmStatusWidget({
        title: `Alarms (${props.alarms.length})`,
        alarms: [...props.alarms],
        width: FULL,
        // The widget lays alarms out in rows of about four; room for all of them without scrolling.
        height: 2 + Math.ceil(props.alarms.length / 4),
      }),
    );
  }
}

/** Requests, 4xx, 5xx and p99 latency, each a graph with one line per route. */
function apiWidgets(props: ControlPlaneDashboardProps): IWidget[] {
  const perRoute = (metricName: string, statistic: string) =>
    props.routes.map(
      (route) =>
        new Metric({
          namespace: 'AWS/ApiGateway',
          metricName,
          dimensionsMap: {
            ApiId: props.httpApi.apiId,
            Stage: props.stageName,
            Method: route.method,
            Resource: route.path,
          },
          statistic,
          period: PERIOD,
          label: route.name,
        }),
    );
  const graph = (title: string, metricName: string, statistic: string) =>
    new GraphWidget({ title, left: perRoute(metricName, statistic), width: HALF, height: HEIGHT });
  return [
    graph('API requests per route (sum)', 'Count', 'Sum'),
    graph('API 4xx per route (sum)', '4xx', 'Sum'),
    graph('API 5xx per route (sum)', '5xx', 'Sum'),
    graph('API latency per route (p99, ms)', 'Latency', 'p99'),
  ];
}

/** One of the fan-out's own metrics (EMF, lambdas/fanout/cloudwatch-metrics.ts) for one trigger. */
function fanoutMetric(metricName: string, trigger: FanoutRun['trigger'], options: MetricOptions): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME, [TRIGGER_DIMENSION]: trigger },
    period: PERIOD,
    ...options,
  });
}

/** The fan-out function (stream and schedule alike), the schedule's invocations, and the commands. */
function fanoutWidgets(props: ControlPlaneDashboardProps): IWidget[] {
  const { fanout } = props;
  const events = (metricName: string) =>
    new Metric({
      namespace: 'AWS/Events',
      metricName,
      dimensionsMap: { RuleName: props.republishRule.ruleName },
      statistic: 'Sum',
      period: PERIOD,
      label: `republish rule ${metricName}`,
    });
  // Account-wide: Run Command's metrics have no dimension, so they count every document's commands.
  const runCommand = (metricName: string) =>
    new Metric({
      namespace: 'AWS/SSM-RunCommand',
      metricName,
      statistic: 'Sum',
      period: PERIOD,
      label: `${metricName} (every document in the account)`,
    });
  return [
    new GraphWidget({
      title: 'Fan-out errors (stream and scheduled republish)',
      left: [
        fanout.metricErrors({ period: PERIOD, statistic: 'Sum', label: 'Errors' }),
        fanout.metricThrottles({ period: PERIOD, statistic: 'Sum', label: 'Throttles' }),
        events('FailedInvocations'),
      ],
      right: [
        fanout.metricInvocations({ period: PERIOD, statistic: 'Sum', label: 'Invocations' }),
        events('Invocations'),
      ],
      width: THIRD,
      height: HEIGHT,
    }),
    new GraphWidget({
      title: 'Fan-out duration (ms)',
      left: [
        fanout.metricDuration({ period: PERIOD, statistic: 'Average', label: 'average' }),
        fanout.metricDuration({ period: PERIOD, statistic: 'p99', label: 'p99' }),
        fanout.metricDuration({ period: PERIOD, statistic: 'Maximum', label: 'maximum' }),
      ],
      width: THIRD,
      height: HEIGHT,
    }),
    new GraphWidget({
      title: 'SSM commands: failures',
      left: [
        fanoutMetric(FANOUT_METRIC_NAMES.sendCommandFailures, 'stream', {
          statistic: 'Sum',
          label: 'SendCommandFailures (stream)',
        }),
        fanoutMetric(FANOUT_METRIC_NAMES.sendCommandFailures, 'schedule', {
          statistic: 'Sum',
          label: 'SendCommandFailures (schedule)',
        }),
        runCommand('CommandsFailed'),
        runCommand('CommandsDeliveryTimedOut'),
      ],
      width: THIRD,
      height: HEIGHT,
    }),
  ];
}

/** What the scheduled republish measured of the live cells. */
function cellWidgets(): IWidget[] {
  return [
    new GraphWidget({
      title: 'Live cells behind the latest version',
      left: [fanoutMetric(FANOUT_METRIC_NAMES.cellsBehind, 'schedule', { statistic: 'Maximum', label: 'CellsBehind' })],
      right: [
        fanoutMetric(FANOUT_METRIC_NAMES.cellsReporting, 'schedule', {
          statistic: 'Maximum',
          label: 'CellsReporting',
        }),
      ],
      width: HALF,
      height: HEIGHT,
    }),
    new GraphWidget({
      title: 'Oldest synced_at among live cells (seconds ago)',
      left: [
        fanoutMetric(FANOUT_METRIC_NAMES.oldestCellSyncAge, 'schedule', {
          statistic: 'Maximum',
          label: 'OldestCellSyncAgeSeconds',
        }),
      ],
      width: HALF,
      height: HEIGHT,
    }),
  ];
}
