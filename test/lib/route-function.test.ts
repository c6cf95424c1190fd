// RouteFunction on its own: what it refuses before anything is bundled, and a route without table access.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_ROUTES, type DeployedRoute } from '../../lambdas/api/route-functions.js';
import { RouteFunction } from '../../lib/route-function.js';
import { PolicyStore } from '../../lib/store.js';
import { testApp } from './synth.js';

const LIST = DEPLOYED_ROUTES[0] as DeployedRoute;

function build(route: DeployedRoute, memorySize?: number, stack = new Stack(testApp(), 'Test')) {
  const store = new PolicyStore(stack, 'Store');
  return new RouteFunction(stack, 'Fn', { route, table: store.table, memorySize });
}

describe('RouteFunction', () => {
  it('gives a route without table actions neither a table grant nor the table name', () => {
    const stack = new Stack(testApp(), 'Test');
    build({ ...LIST, tableActions: [] }, undefined, stack);
    const template = Template.fromStack(stack);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[],
    );
    expect(statements.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fn?.Properties.Environment.Variables).toEqual({ NODE_OPTIONS: '--enable-source-maps' });
  });

  it('fails on a memory size Lambda does not offer, showing it', () => {
    expect(() => build(LIST, 64)).toThrow(
      `RouteFunction ${LIST.name}: memorySize must be an integer from 128 to 10240, got 64`,
    );
  });

  it('fails on an entry that does not exist', () => {
    expect(() => build({ ...LIST, entry: 'lambdas/api/handlers/missing.ts' })).toThrow(/missing\.ts/);
  });
});
