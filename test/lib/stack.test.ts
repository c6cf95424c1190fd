// GIVEN the stack as `cdk synth` builds it, THEN everything security-relevant is as documented.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PARTITION_KEY, SORT_KEY } from '../../core/store/table-definition.js';
import { ROUTES, type RouteName } from '../../lambdas/api/routes.js';
import { DynamicEgressStack } from '../../lib/stack.js';
import { TEST_JWT, testApp } from './synth.js';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

let template: Template;
let resources: Resources;

beforeAll(() => {
  const app = testApp();
  const stack = new DynamicEgressStack(app, 'Test', {
    ...TEST_JWT,
    alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:oncall',
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
});

function ofType(type: string): [string, Record<string, unknown>][] {
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, resource.Properties ?? {}]);
}

function logicalIdOf(type: string, fragment: string): string {
  const ids = ofType(type)
    .map(([id]) => id)
    .filter((id) => id.includes(fragment));
  expect(ids, `${type} matching ${fragment}`).toHaveLength(1);
  return ids[0] as string;
}

/** The one route served without a token (routes.ts marks it public). */
const PUBLIC_ROUTE = 'GET /openapi.json';

const tableId = () => logicalIdOf('AWS::DynamoDB::Table', 'StoreTable');
const pascal = (name: string) =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

describe('policy table', () => {
  it('is on-demand, encrypted with KMS, keyed pk/sk, with PITR, deletion protection and a NEW_AND_OLD_IMAGES stream', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
        { AttributeName: SORT_KEY, KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      // SSEEnabled without a key: KMS with the AWS-managed aws/dynamodb key.
      SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('is retained when the stack is deleted or the table replaced', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has no secondary indexes (grants cover the table ARN only)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.absent(),
      LocalSecondaryIndexes: Match.absent(),
    });
  });
});

describe('HTTP API', () => {
  it('has exactly one route per ROUTES entry', () => {
    const keys = ofType('AWS::ApiGatewayV2::Route').map(([, props]) => props.RouteKey);
    expect(keys.sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('puts every route but GET /openapi.json behind the JWT authorizer: v1 needs network.admin, V3 also CF admin scopes', () => {
    const authorizerId = logicalIdOf('AWS::ApiGatewayV2::Authorizer', 'JwtAuthorizer');
    const routes = ofType('AWS::ApiGatewayV2::Route');
    expect(routes).toHaveLength(ROUTES.length);
    // Written out by hand, so that a scope added to or dropped from routes.ts fails here.
    const write = ['cloud_controller.admin', 'network.admin'];
    const read = [...write, 'cloud_controller.admin_read_only', 'cloud_controller.global_auditor'];
    const authorized = routes.filter(([, props]) => props.RouteKey !== PUBLIC_ROUTE);
    expect(authorized).toHaveLength(ROUTES.length - 1);
    for (const [id, props] of authorized) {
      const routeKey = String(props.RouteKey);
      const scopes = !routeKey.includes(' /v3/') ? ['network.admin'] : routeKey.startsWith('GET ') ? read : write;
      expect({ id, ...props }).toMatchObject({
        id,
        AuthorizationType: 'JWT',
        AuthorizationScopes: scopes,
        AuthorizerId: { Ref: authorizerId },
      });
    }
  });

  it('serves GET /openapi.json with no authorizer, the one public route', () => {
    const open = ofType('AWS::ApiGatewayV2::Route').filter(([, props]) => props.AuthorizationType !== 'JWT');
    expect(open.map(([, props]) => props)).toEqual([
      {
        ApiId: expect.anything(),
        RouteKey: PUBLIC_ROUTE,
        AuthorizationType: 'NONE',
        Target: expect.anything(),
      },
    ]);
  });

  it('trusts the issuer and audience it was given, reading the Authorization header', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: TEST_JWT.jwtIssuer, Audience: [...TEST_JWT.jwtAudience] },
    });
  });

  it('throttles the $default stage and writes JSON access logs to a log group with bounded retention', () => {
    const stages = ofType('AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    const [, stage] = stages[0] as [string, Record<string, unknown>];
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalIdOf('AWS::Logs::LogGroup', 'AccessLogs'), 'Arn'] },
      },
    });
    const format = JSON.parse((stage.AccessLogSettings as { Format: string }).Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      routeKey: '$context.routeKey',
    });
  });
});

describe('route functions', () => {
  it('are Node.js 22 on arm64 with JSON logs, source maps and the table name (but the one that reads no table)', () => {
    // Every function of the stack: one per route, plus the fan-out (propagation.test.ts).
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(ROUTES.length + 1);
    for (const [id, props] of functions) {
      const tableName = id.startsWith('ApiGetOpenapi') ? {} : { TABLE_NAME: { Ref: tableId() } };
      expect({ id, ...props }).toMatchObject({
        id,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.stringContaining('Logs') } },
        Environment: { Variables: { ...tableName, NODE_OPTIONS: '--enable-source-maps' } },
      });
    }
  });

  it('log to groups that all have a retention', () => {
    // The cells' connection log group has its own retention (below).
    const groups = ofType('AWS::Logs::LogGroup').filter(([id]) => !id.startsWith('CellsConnectionLogs'));
    expect(groups).toHaveLength(ROUTES.length + 2);
    for (const [id, props] of groups) expect({ id, retention: props.RetentionInDays }).toEqual({ id, retention: 30 });
  });

  it('use roles without managed policies', () => {
    for (const [id, props] of ofType('AWS::IAM::Role')) {
      expect({ id, managed: props.ManagedPolicyArns }).toEqual({ id, managed: undefined });
    }
  });

  // Written out by hand, not taken from ROUTES, so that a grant widened (or narrowed) in route-functions.ts
  // fails here. Derived from the store calls each handler makes; transactions need their items' actions.
  const EXPECTED_TABLE_ACTIONS: Readonly<Record<RouteName, readonly string[]>> = {
    'list-destinations': ['dynamodb:BatchGetItem', 'dynamodb:Query'],
    'create-destinations': ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'update-destinations': [
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ],
    'delete-destination': ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
    'list-egress-policies': ['dynamodb:BatchGetItem', 'dynamodb:Query'],
    'create-egress-policies': ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'delete-egress-policy': ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
    'list-cells': ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
    explain: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
    'list-security-groups': ['dynamodb:Query'],
    'create-security-group': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'get-security-group': ['dynamodb:GetItem'],
    'update-security-group': ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'delete-security-group': ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'bind-security-group': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'unbind-security-group': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    'list-space-security-groups': ['dynamodb:Query'],
    'get-job': ['dynamodb:GetItem'],
    'get-openapi': [],
  };

  it.each(Object.entries(EXPECTED_TABLE_ACTIONS))(
    '%s may do exactly its table actions and write its own logs',
    (name, expectedActions) => {
      const prefix = `Api${pascal(name)}`;
      const policyId = logicalIdOf('AWS::IAM::Policy', `${prefix}Role`);
      const policy = resources[policyId]?.Properties as {
        PolicyDocument: { Statement: Statement[] };
        Roles: unknown[];
      };
      expect(policy.Roles).toEqual([{ Ref: logicalIdOf('AWS::IAM::Role', `${prefix}Role`) }]);
      const actions = (statement: Statement) => [statement.Action].flat().sort();
      expect(
        policy.PolicyDocument.Statement.map((statement) => ({ ...statement, Action: actions(statement) })),
      ).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logicalIdOf('AWS::Logs::LogGroup', `${prefix}Logs`), 'Arn'] },
        },
        ...(expectedActions.length === 0
          ? []
          : [{ Effect: 'Allow', Action: [...expectedActions].sort(), Resource: { 'Fn::GetAtt': [tableId(), 'Arn'] } }]),
      ]);
    },
  );

  it('no IAM policy anywhere has a wildcard action, nor a wildcard resource but the two the fan-out needs', () => {
    const policies = [...ofType('AWS::IAM::Policy'), ...ofType('AWS::IAM::ManagedPolicy')];
    for (const [id, props] of policies) {
      for (const statement of (props.PolicyDocument as { Statement: Statement[] }).Statement) {
        for (const action of [statement.Action].flat())
          expect({ id, action }).toEqual({ id, action: expect.not.stringContaining('*') });
        // ListStreams has no resource-level permissions; SendCommand to cells is bound by the tag condition.
        const actions = [statement.Action].flat();
        if (id.startsWith('FanoutRole') && actions.join() === 'dynamodb:ListStreams') continue;
        if (
          id.startsWith('FanoutRole') &&
          actions.join() === 'ssm:SendCommand' &&
          JSON.stringify(statement).includes('resourceTag')
        )
          continue;
        expect(JSON.stringify(statement.Resource), id).not.toContain('*');
      }
    }
  });
});

describe('alarms', () => {
  const alarmProps = () => ofType('AWS::CloudWatch::Alarm').map(([, props]) => props);

  it('watch the API 5xx rate with metric math', () => {
    const rate = alarmProps().find((props) => JSON.stringify(props.Metrics ?? '').includes('100 * errors / requests'));
    expect(rate).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
  });

  it('watch errors and throttles of every function and DynamoDB throttling, notifying the topic', () => {
    const metricNames = alarmProps().map((props) => props.MetricName);
    // One per route function plus the fan-out.
    expect(metricNames.filter((name) => name === 'Errors')).toHaveLength(ROUTES.length + 1);
    expect(metricNames.filter((name) => name === 'Throttles')).toHaveLength(ROUTES.length + 1);
    expect(metricNames).toEqual(expect.arrayContaining(['ReadThrottleEvents', 'WriteThrottleEvents']));
    for (const props of alarmProps()) {
      expect(props.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:111111111111:oncall']);
      expect(props.TreatMissingData).toBe('notBreaching');
    }
  });
});

describe('scheduled snapshot republish', () => {
  const fanoutFunction = () => logicalIdOf('AWS::Lambda::Function', 'FanoutFunction');
  const ruleId = () => logicalIdOf('AWS::Events::Rule', 'FanoutRepublish');

  it('is an EventBridge rule every 5 minutes targeting the fan-out with the default (scheduled event) input', () => {
    expect(ofType('AWS::Events::Rule')).toHaveLength(1);
    const rule = resources[ruleId()]?.Properties ?? {};
    expect(rule).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [fanoutFunction(), 'Arn'] }, Id: expect.any(String) }],
    });
    // No Input/InputPath: the handler recognizes EventBridge's scheduled event shape.
    const [target] = rule.Targets as Record<string, unknown>[];
    expect(Object.keys(target ?? {}).sort()).toEqual(['Arn', 'Id']);
  });

  it('may invoke the fan-out only from this rule', () => {
    const permissions = ofType('AWS::Lambda::Permission').filter(
      ([, props]) => props.Principal === 'events.amazonaws.com',
    );
    expect(permissions.map(([, props]) => props)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fanoutFunction(), 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId(), 'Arn'] },
      },
    ]);
  });

  it('alarms when EventBridge fails to invoke it', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: ruleId() } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: ['arn:aws:sns:eu-west-1:111111111111:oncall'],
    });
  });

  it('takes its schedule from the props, and refuses an expression EventBridge would refuse', () => {
    const stackWith = (republishSchedule: string) =>
      new DynamicEgressStack(testApp(), 'Sched', { ...TEST_JWT, republishSchedule });
    Template.fromStack(stackWith('rate(1 minute)')).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
    });
    expect(() => stackWith('rate(1 minutes)')).toThrow(
      'republishSchedule must be rate(1 minute), rate(N minutes|hours|days) or cron(...), got "rate(1 minutes)"',
    );
    expect(() => stackWith('every 5 minutes')).toThrow('got "every 5 minutes"');
  });
});

describe("cells' connection logs", () => {
  const groupId = () => logicalIdOf('AWS::Logs::LogGroup', 'CellsConnectionLogs');

  it('go to a log group kept 90 days and retained when the stack is deleted', () => {
    expect(resources[groupId()]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { RetentionInDays: 90 },
    });
  });

  it('may be written by the cell policy, to that log group only; no other policy names it', () => {
    const statements = ofType('AWS::IAM::ManagedPolicy').flatMap(
      ([, props]) => (props.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    expect(statements.filter((statement) => JSON.stringify(statement).includes(groupId()))).toEqual([
      {
        Sid: 'WriteConnectionLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [groupId(), 'Arn'] },
      },
    ]);
    expect(JSON.stringify(ofType('AWS::IAM::Policy'))).not.toContain(groupId());
  });

  it('are named in the ConnectionLogGroupName output, which is absent when connection logging is off', () => {
    template.hasOutput('ConnectionLogGroupName', { Value: { Ref: groupId() } });
    const off = Template.fromStack(new DynamicEgressStack(testApp(), 'Off', { ...TEST_JWT, connectionLogging: false }));
    expect(Object.keys(off.findOutputs('ConnectionLogGroupName'))).toEqual([]);
    off.resourceCountIs('AWS::Logs::LogGroup', ROUTES.length + 2);
  });
});

describe('outputs', () => {
  it('give the API URL, the table name and the table stream ARN', () => {
    template.hasOutput('ApiUrl', {
      Value: {
        'Fn::Join': ['', Match.arrayWith(['https://', { Ref: logicalIdOf('AWS::ApiGatewayV2::Api', 'HttpApi') }])],
      },
    });
    template.hasOutput('TableName', { Value: { Ref: tableId() } });
    template.hasOutput('TableStreamArn', { Value: { 'Fn::GetAtt': [tableId(), 'StreamArn'] } });
  });
});
