// What a platform team wants to be paged for: the API answering 5xx, Lambda errors and throttles,
// DynamoDB throttling. Alarms notify the given actions (e.g. an existing on-call SNS topic).
import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IRule } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ControlPlaneAlarmsProps {
  /** The HTTP API whose 5xx rate is watched. */
  readonly httpApi: IHttpApi;
  /** The table whose read and write throttle events are watched. */
  readonly table: ITable;
  /** Functions whose errors and throttles are watched, by a stable construct id each. */
  readonly functions: ReadonlyMap<string, IFunction>;
  /**
   * Percentage of requests answered 5xx (over 5 minutes, 2 of 3 periods) that raises the alarm.
   * @default 1
   */
  readonly serverErrorRatePercent?: number;
  /**
   * Where alarms and their recovery are sent.
   * @default - no actions: alarms show in the console only
   */
  readonly alarmActions?: readonly IAlarmAction[];
}

export class ControlPlaneAlarms extends Construct {
  readonly alarms: Alarm[] = [];
  private readonly actions: readonly IAlarmAction[];

  constructor(scope: Construct, id: string, props: ControlPlaneAlarmsProps) {
    super(scope, id);
    const serverErrorRatePercent = props.serverErrorRatePercent ?? 1;
    if (!(serverErrorRatePercent > 0 && serverErrorRatePercent <= 100)) {
      throw new Error(`ControlPlaneAlarms: serverErrorRatePercent must be in (0, 100], got ${serverErrorRatePercent}`);
    }
    this.actions = props.alarmActions ?? [];
    const period = Duration.minutes(5);

    const rate = new MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: {
        errors: props.httpApi.metricServerError({ period, statistic: 'Sum' }),
        requests: props.httpApi.metricCount({ period, statistic: 'Sum' }),
      },
      label: 'API 5xx rate (%)',
      period,
    });
    this.add('Api5xxRate', rate, {
      threshold: serverErrorRatePercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: `More than ${serverErrorRatePercent}% of API requests answered 5xx in 2 of the last 3 five-minute periods`,
    });

    for (const operation of ['ReadThrottleEvents', 'WriteThrottleEvents'] as const) {
      const metric = new Metric({
        namespace: 'AWS/DynamoDB',
        metricName: operation,
        dimensionsMap: { TableName: props.table.tableName },
        statistic: 'Sum',
        period,
      });
      this.add(`Table${operation}`, metric, { threshold: 1, description: `DynamoDB ${operation} on the policy table` });
    }

    for (const [id, fn] of props.functions) {
      this.monitorFunction(id, fn);
    }
  }

  /** Error and throttle alarms for one more function (the fan-out construct adds its own this way). */
  monitorFunction(id: string, fn: IFunction): void {
    const period = Duration.minutes(5);
    this.add(`${id}Errors`, fn.metricErrors({ period, statistic: 'Sum' }), {
      threshold: 1,
      description: `Unhandled errors in ${id} (handled API errors are answered 4xx and do not count)`,
    });
    this.add(`${id}Throttles`, fn.metricThrottles({ period, statistic: 'Sum' }), {
      threshold: 1,
      description: `Lambda throttled invocations of ${id} (account or reserved concurrency reached)`,
    });
  }

  /** Fires as soon as any message waits in the queue (an on-failure destination: nothing should land there). */
  monitorQueueNotEmpty(id: string, queue: IQueue, what: string): void {
    const period = Duration.minutes(5);
    this.add(`${id}NotEmpty`, queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }), {
      threshold: 1,
      description: `${what}: at least one message is waiting in the queue (see docs/deploy.md, Propagation, to redrive)`,
    });
  }

  /**
   * Fires when EventBridge could not invoke a scheduled rule's target (permission removed, function
   * deleted or throttled past its retries): the scheduled job silently stopped running. The
   * target's own failures show in its Errors alarm.
   */
  monitorRuleFailedInvocations(id: string, rule: IRule, what: string): void {
    const period = Duration.minutes(5);
    const metric = new Metric({
      namespace: 'AWS/Events',
      metricName: 'FailedInvocations',
      dimensionsMap: { RuleName: rule.ruleName },
      statistic: 'Sum',
      period,
    });
    this.add(`${id}FailedInvocations`, metric, {
      threshold: 1,
      description: `${what}: EventBridge could not invoke the target`,
    });
  }

  /**
   * Fires when a stream consumer falls behind: the age of the last record it read (Maximum over 5
   * minutes) reaches `threshold`.
   */
  monitorIteratorAge(id: string, fn: IFunction, threshold: Duration): void {
    const thresholdMs = threshold.toMilliseconds();
    if (!(thresholdMs >= 1000)) {
      throw new Error(`ControlPlaneAlarms: iterator age threshold must be at least 1 second, got ${thresholdMs} ms`);
    }
    const period = Duration.minutes(5);
    this.add(`${id}IteratorAge`, fn.metric('IteratorAge', { period, statistic: 'Maximum' }), {
      threshold: thresholdMs,
      description: `${id} is behind its stream: a record waited ${threshold.toHumanString()} or more before being handled`,
    });
  }

  private add(
    id: string,
    metric: IMetric,
    options: { threshold: number; description: string; evaluationPeriods?: number; datapointsToAlarm?: number },
  ): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm ?? 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(...this.actions);
    alarm.addOkAction(...this.actions);
    this.alarms.push(alarm);
  }
}
