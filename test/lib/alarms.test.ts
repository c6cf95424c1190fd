// ControlPlaneAlarms on its own: thresholds, actions, and monitorFunction for constructs added later.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { ControlPlaneAlarms, type ControlPlaneAlarmsProps } from '../../lib/alarms.js';
import { PolicyStore } from '../../lib/store.js';
import { testApp } from './synth.js';

function build(props: Partial<ControlPlaneAlarmsProps> = {}) {
  const stack = new Stack(testApp(), 'Test');
  const store = new PolicyStore(stack, 'Store');
  const httpApi = new HttpApi(stack, 'Api');
  const fn = () =>
    new LambdaFunction(stack, `Fn${stack.node.children.length}`, {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => ({})'),
    });
  const alarms = new ControlPlaneAlarms(stack, 'Alarms', {
    httpApi,
    table: store.table,
    functions: new Map([['one', fn()]]),
    ...props,
  });
  return { stack, alarms, fn };
}

describe('ControlPlaneAlarms', () => {
  it('uses the given 5xx rate as threshold', () => {
    const { stack } = build({ serverErrorRatePercent: 5 });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
  });

  it('adds error and throttle alarms for a function monitored later (the fan-out)', () => {
    const { stack, alarms, fn } = build();
    const before = alarms.alarms.length;
    alarms.monitorFunction('fanout', fn());
    expect(alarms.alarms.length).toBe(before + 2);
    const template = Template.fromStack(stack);
    expect(
      Object.keys(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Errors' } })),
    ).toHaveLength(2);
  });

  it('fails on a rate outside (0, 100], showing it', () => {
    expect(() => build({ serverErrorRatePercent: 0 })).toThrow('serverErrorRatePercent must be in (0, 100], got 0');
    expect(() => build({ serverErrorRatePercent: 150 })).toThrow('serverErrorRatePercent must be in (0, 100], got 150');
  });
});
