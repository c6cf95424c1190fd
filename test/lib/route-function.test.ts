// RouteFunction on its own: what it refuses before anything is bundled.
import { Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_ROUTES, type DeployedRoute } from '../../lambdas/api/route-functions.js';
import { RouteFunction } from '../../lib/route-function.js';
import { PolicyStore } from '../../lib/store.js';
import { testApp } from './synth.js';

const LIST = DEPLOYED_ROUTES[0] as DeployedRoute;

function build(route: DeployedRoute, memorySize?: number) {
  const stack = new Stack(testApp(), 'Test');
  const store = new PolicyStore(stack, 'Store');
  return new RouteFunction(stack, 'Fn', { route, table: store.table, memorySize });
}

describe('RouteFunction', () => {
  it('fails on a route without table actions (nothing to grant is a mistake in ROUTE_FUNCTIONS)', () => {
    expect(() => build({ ...LIST, tableActions: [] })).toThrow(
      `RouteFunction ${LIST.name}: a route needs at least one table action, got none`,
    );
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
