// Every API route once: local mode routes requests with it, the CDK stack creates one Lambda and one
// authorized API Gateway route per entry, and grants each exactly the table actions listed here.
// Pure data, so the stack can import it without loading handler code.

export type RouteName =
  | 'list-destinations'
  | 'create-destinations'
  | 'update-destinations'
  | 'delete-destination'
  | 'list-egress-policies'
  | 'create-egress-policies'
  | 'delete-egress-policy'
  | 'list-cells';

export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem';

export interface RouteDefinition {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway route path; `{id}` is a path parameter. */
  readonly path: string;
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  /**
   * Exactly the DynamoDB actions the handler's store calls make. TransactWriteItems has no IAM action
   * of its own: each item in it needs its action (Put → PutItem, Update → UpdateItem, Delete →
   * DeleteItem); every write also bumps the version record (UpdateItem).
   */
  readonly tableActions: readonly TableAction[];
  /**
   * The query parameters the handler reads; any other one is refused with a 400 naming it (a filter
   * the API does not know must never widen into "everything"). @default none
   */
  readonly queryParameters?: readonly string[];
}

export const API_PREFIX = '/networking/v1/external';

/**
 * The OAuth scope every route requires (UAA's `network.admin`, as in Cloud Foundry's policy server):
 * API Gateway's JWT authorizer checks it, and the handlers check it again (local mode has no gateway).
 */
export const REQUIRED_SCOPE = 'network.admin';

/** API Gateway's `routeKey` of a route (`GET /networking/v1/external/destinations/{id}`). */
export function routeKeyOf(route: Pick<RouteDefinition, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

export const ROUTES: readonly RouteDefinition[] = [
  {
    name: 'list-destinations',
    method: 'GET',
    path: `${API_PREFIX}/destinations`,
    entry: 'lambdas/api/handlers/list-destinations.ts',
    tableActions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
    queryParameters: ['id', 'name'],
  },
  {
    name: 'create-destinations',
    method: 'POST',
    path: `${API_PREFIX}/destinations`,
    entry: 'lambdas/api/handlers/create-destinations.ts',
    // Name lookups (BatchGetItem); puts the destination and its name record, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'update-destinations',
    method: 'PUT',
    path: `${API_PREFIX}/destinations`,
    entry: 'lambdas/api/handlers/update-destinations.ts',
    // Reads destinations and new names (BatchGetItem); replaces them and their name records, deletes
    // released names, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'delete-destination',
    method: 'DELETE',
    path: `${API_PREFIX}/destinations/{id}`,
    entry: 'lambdas/api/handlers/delete-destination.ts',
    // Reads the destination (BatchGetItem) and its users (Query); deletes it and its name, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'list-egress-policies',
    method: 'GET',
    path: `${API_PREFIX}/egress_policies`,
    entry: 'lambdas/api/handlers/list-egress-policies.ts',
    tableActions: ['dynamodb:Query'],
  },
  {
    name: 'create-egress-policies',
    method: 'POST',
    path: `${API_PREFIX}/egress_policies`,
    entry: 'lambdas/api/handlers/create-egress-policies.ts',
    // Reads destinations and existing policies (BatchGetItem); puts each policy and its reference,
    // moves the destinations' counters and the version (UpdateItem).
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'delete-egress-policy',
    method: 'DELETE',
    path: `${API_PREFIX}/egress_policies/{id}`,
    entry: 'lambdas/api/handlers/delete-egress-policy.ts',
    // Reads the policy and its destination (BatchGetItem); deletes it and its reference, moves the
    // destination's counter and the version (UpdateItem).
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'list-cells',
    method: 'GET',
    path: `${API_PREFIX}/cells`,
    entry: 'lambdas/api/handlers/list-cells.ts',
    tableActions: ['dynamodb:Query', 'dynamodb:GetItem'],
  },
];
