// GIVEN the stack as `cdk synth` builds it, THEN its dashboard graphs every route, the fan-out, the
// command failures and the cell metrics by the names the handlers write, and shows every alarm.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../lambdas/api/routes.js';
import { FANOUT_METRIC_NAMES } from '../../lambdas/fanout/fanout-metrics.js';
import { ControlPlaneDashboard, type ControlPlaneDashboardProps } from '../../lib/dashboard.js';
import { DynamicEgressStack } from '../../lib/stack.js';
import { TEST_JWT, testApp } from './synth.js';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** One line of a metric widget: `[namespace, name, dimension, value, ..., {label, stat}]`. */
interface MetricLine {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly options: Record<string, unknown>;
}

interface Widget {
  readonly type: string;
  readonly properties: { title?: string; metrics?: unknown[][]; alarms?: string[] };
}

let template: Template;
let resources: Resources;
let widgets: Widget[];

/**
 * The body is a string joined with the tokens it names (the API id, function and rule names, alarm
 * ARNs); each token becomes `@Ref:<id>` or `@GetAtt:<id>.<attribute>` so the body parses as JSON.
 */
function dashboardBody(properties: Record<string, unknown>): { widgets: Widget[] } {
  const body = properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (token.Ref !== undefined) return `@Ref:${token.Ref}`;
      if (token['Fn::GetAtt'] !== undefined) return `@GetAtt:${token['Fn::GetAtt'].join('.')}`;
      throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text) as { widgets: Widget[] };
}

function metricLines(): MetricLine[] {
  return widgets.flatMap((widget) =>
    (widget.properties.metrics ?? []).map((line) => {
      const options = line.at(-1) as Record<string, unknown>;
      const [namespace, name, ...rest] = line.slice(0, -1) as string[];
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < rest.length; i += 2) dimensions[rest[i] as string] = rest[i + 1] as string;
      return { namespace: namespace as string, name: name as string, dimensions, options };
    }),
  );
}

function idsOf(type: string, fragment = ''): string[] {
  return Object.entries(resources)
    .filter(([id, resource]) => resource.Type === type && id.includes(fragment))
    .map(([id]) => id);
}

function onlyIdOf(type: string, fragment: string): string {
  const ids = idsOf(type, fragment);
  expect(ids, `${type} matching ${fragment}`).toHaveLength(1);
  return ids[0] as string;
}

beforeAll(() => {
  const stack = new DynamicEgressStack(testApp(), 'Test', TEST_JWT);
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
  const dashboards = Object.values(resources).filter((resource) => resource.Type === 'AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  widgets = dashboardBody(dashboards[0]?.Properties ?? {}).widgets;
});

describe('dashboard', () => {
  it('graphs requests, 4xx, 5xx and latency of every route, from the stage with detailed metrics', () => {
    const stage = idsOf('AWS::ApiGatewayV2::Stage').map((id) => resources[id]?.Properties);
    expect(stage).toEqual([
      expect.objectContaining({ DefaultRouteSettings: expect.objectContaining({ DetailedMetricsEnabled: true }) }),
    ]);
    const api = `@Ref:${onlyIdOf('AWS::ApiGatewayV2::Api', 'HttpApi')}`;
    const lines = metricLines().filter((line) => line.namespace === 'AWS/ApiGateway');
    for (const [name, stat] of [
      ['Count', 'Sum'],
      ['4xx', 'Sum'],
      ['5xx', 'Sum'],
      ['Latency', 'p99'],
    ] as const) {
      const graphed = lines.filter((line) => line.name === name);
      expect(graphed.map((line) => line.options.label)).toEqual(ROUTES.map((route) => route.name));
      for (const route of ROUTES) {
        expect(graphed).toContainEqual({
          namespace: 'AWS/ApiGateway',
          name,
          dimensions: { ApiId: api, Stage: '$default', Method: route.method, Resource: route.path },
          options: { label: route.name, stat },
        });
      }
    }
  });

  it("graphs the fan-out function's errors, throttles and duration, and the republish rule's invocations", () => {
    const fanout = `@Ref:${onlyIdOf('AWS::Lambda::Function', 'FanoutFunction')}`;
    const rule = `@Ref:${onlyIdOf('AWS::Events::Rule', 'FanoutRepublish')}`;
    const lambda = metricLines().filter((line) => line.namespace === 'AWS/Lambda');
    for (const line of lambda) expect(line.dimensions).toEqual({ FunctionName: fanout });
    // The body leaves out `stat` when it is Average, the dashboard's default.
    expect(lambda.map((line) => [line.name, line.options.stat ?? 'Average'])).toEqual([
      ['Errors', 'Sum'],
      ['Throttles', 'Sum'],
      ['Invocations', 'Sum'],
      ['Duration', 'Average'],
      ['Duration', 'p99'],
      ['Duration', 'Maximum'],
    ]);
    const events = metricLines().filter((line) => line.namespace === 'AWS/Events');
    expect(events.map((line) => [line.name, line.dimensions])).toEqual([
      ['FailedInvocations', { RuleName: rule }],
      ['Invocations', { RuleName: rule }],
    ]);
  });

  it("graphs the fan-out's SendCommandFailures for both triggers and Run Command's failures", () => {
    const lines = metricLines();
    expect(
      lines
        .filter((line) => line.name === FANOUT_METRIC_NAMES.sendCommandFailures)
        .map((line) => [line.namespace, line.dimensions, line.options.stat]),
    ).toEqual([
      ['DynamicEgress', { service: 'dynamic-egress', Trigger: 'stream' }, 'Sum'],
      ['DynamicEgress', { service: 'dynamic-egress', Trigger: 'schedule' }, 'Sum'],
    ]);
    expect(
      lines.filter((line) => line.namespace === 'AWS/SSM-RunCommand').map((line) => [line.name, line.dimensions]),
    ).toEqual([
      ['CommandsFailed', {}],
      ['CommandsDeliveryTimedOut', {}],
    ]);
  });

  it('graphs the live cells the scheduled republish measures: behind, reporting, oldest sync age', () => {
    const cells = metricLines().filter(
      (line) =>
        line.namespace === 'DynamicEgress' &&
        [FANOUT_METRIC_NAMES.cellsBehind, FANOUT_METRIC_NAMES.cellsReporting, FANOUT_METRIC_NAMES.oldestCellSyncAge]
          .map(String)
          .includes(line.name),
    );
    expect(cells.map((line) => [line.name, line.dimensions, line.options.stat])).toEqual([
      ['CellsBehind', { service: 'dynamic-egress', Trigger: 'schedule' }, 'Maximum'],
      ['CellsReporting', { service: 'dynamic-egress', Trigger: 'schedule' }, 'Maximum'],
      ['OldestCellSyncAgeSeconds', { service: 'dynamic-egress', Trigger: 'schedule' }, 'Maximum'],
    ]);
  });

  it('shows the state of every alarm in the stack', () => {
    const alarms = widgets.filter((widget) => widget.type === 'alarm').flatMap((widget) => widget.properties.alarms);
    const all = idsOf('AWS::CloudWatch::Alarm');
    // One per route function's errors and throttles at least, so a forgotten group would show.
    expect(all.length).toBeGreaterThan(2 * ROUTES.length);
    expect(alarms.sort()).toEqual(all.map((id) => `@GetAtt:${id}.Arn`).sort());
  });

  it('is named in the DashboardName output', () => {
    template.hasOutput('DashboardName', { Value: { Ref: onlyIdOf('AWS::CloudWatch::Dashboard', 'Monitoring') } });
  });
});

describe('ControlPlaneDashboard on its own', () => {
  function build(routes: ControlPlaneDashboardProps['routes']) {
    const stack = new Stack(testApp(), 'Alone');
    const fanout = new LambdaFunction(stack, 'Fn', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => ({})'),
    });
    new ControlPlaneDashboard(stack, 'Monitoring', {
      httpApi: new HttpApi(stack, 'Api'),
      stageName: '$default',
      routes,
      fanout,
      republishRule: new Rule(stack, 'Rule', { schedule: Schedule.expression('rate(5 minutes)') }),
      alarms: [],
    });
    return stack;
  }

  it('graphs the routes it is given, not a fixed list', () => {
    const resources = Template.fromStack(build([{ name: 'list-cells', method: 'GET', path: '/new/route' }])).toJSON()
      .Resources as Resources;
    const [dashboard] = Object.values(resources).filter((resource) => resource.Type === 'AWS::CloudWatch::Dashboard');
    const paths = dashboardBody(dashboard?.Properties ?? {})
      .widgets.flatMap((widget) => widget.properties.metrics ?? [])
      .filter((line) => line[0] === 'AWS/ApiGateway')
      .map((line) => line[line.indexOf('Resource') + 1]);
    expect(paths).toEqual(['/new/route', '/new/route', '/new/route', '/new/route']);
  });

  it('refuses an empty route list', () => {
    expect(() => build([])).toThrow('ControlPlaneDashboard: no routes given');
  });
});
