// ControlPlaneApi on its own: input validation, and the guard that refuses an unprotected route.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpMethod, HttpNoneAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_ROUTES } from '../../lambdas/api/route-functions.js';
import { ControlPlaneApi, type ControlPlaneApiProps } from '../../lib/api.js';
import { PolicyStore } from '../../lib/store.js';
import { TEST_JWT, testApp } from './synth.js';

// One route keeps these tests fast; the whole DEPLOYED_ROUTES list is covered by stack.test.ts.
const ONE_ROUTE = DEPLOYED_ROUTES.slice(0, 1);

function build(props: Partial<ControlPlaneApiProps> = {}) {
  const app = testApp();
  const stack = new Stack(app, 'Test');
  const store = new PolicyStore(stack, 'Store');
  const api = new ControlPlaneApi(stack, 'Api', { table: store.table, ...TEST_JWT, routes: ONE_ROUTE, ...props });
  return { app, stack, api };
}

describe('ControlPlaneApi', () => {
  it('applies throttling from props', () => {
    const { stack } = build({ throttlingRateLimit: 5, throttlingBurstLimit: 10 });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('tells every route function the source id format, GUIDs by default', () => {
    const defaults = Template.fromStack(build({ routes: DEPLOYED_ROUTES }).stack);
    const functions = defaults.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { EGRESS_SOURCE_IDS: 'guid' } } },
    });
    expect(Object.keys(functions)).toHaveLength(DEPLOYED_ROUTES.length);
    Template.fromStack(build({ sourceIds: 'identifier' }).stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { EGRESS_SOURCE_IDS: 'identifier' } },
    });
  });

  it("gives explain's function, and only it, the cells' deny networks and overlay", () => {
    const template = Template.fromStack(
      build({
        routes: DEPLOYED_ROUTES,
        denyNetworks: { always: ['169.254.169.254/32'], running: [], staging: ['10.0.0.0/8'] },
        overlayCidr: '10.250.0.0/16',
      }).stack,
    );
    const withDeny = template.findResources('AWS::Lambda::Function', {
      Properties: {
        Environment: {
          Variables: {
            EGRESS_DENY_NETWORKS: '{"always":["169.254.169.254/32"],"running":[],"staging":["10.0.0.0/8"]}',
            EGRESS_OVERLAY_CIDR: '10.250.0.0/16',
          },
        },
      },
    });
    expect(Object.values(withDeny).map((fn) => fn.Properties.Description)).toEqual([
      'dynamic-egress GET /networking/v1/external/explain',
    ]);
  });

  it('fails on a sourceIds value the API does not take', () => {
    expect(() => build({ sourceIds: 'uuid' as never })).toThrow('sourceIds must be guid or identifier, got "uuid"');
  });

  it('fails on an issuer that is not https', () => {
    expect(() => build({ jwtIssuer: 'http://uaa.example.com/oauth/token' })).toThrow(
      "jwtIssuer must be an https URL, got 'http://uaa.example.com/oauth/token'",
    );
  });

  it('fails without an audience', () => {
    expect(() => build({ jwtAudience: [] })).toThrow('jwtAudience needs at least one non-empty value, got []');
  });

  it('fails on a non-positive rate or a fractional burst', () => {
    expect(() => build({ throttlingRateLimit: 0 })).toThrow('throttlingRateLimit must be a positive number, got 0');
    expect(() => build({ throttlingBurstLimit: 1.5 })).toThrow(
      'throttlingBurstLimit must be a positive integer, got 1.5',
    );
  });

  it('fails synth when a route on the API is added without the JWT authorizer', () => {
    const { app, api } = build();
    const fn = api.functions.get(ONE_ROUTE[0]?.name ?? 'list-destinations');
    if (!fn) throw new Error('route function missing');
    // WHEN someone adds an open route to the same API
    api.httpApi.addRoutes({
      path: '/debug',
      methods: [HttpMethod.GET],
      integration: new HttpLambdaIntegration('Debug', fn.function),
      authorizer: new HttpNoneAuthorizer(),
    });
    expect(() => app.synth()).toThrow(
      /route 'GET \/debug' must use the JWT authorizer with scopes \["network.admin"\], got authorizationType NONE/,
    );
  });
});
