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
  | 'list-cells'
  | 'list-security-groups'
  | 'create-security-group'
  | 'get-security-group'
  | 'update-security-group'
  | 'delete-security-group'
  | 'bind-security-group'
  | 'unbind-security-group'
  | 'list-space-security-groups'
  | 'get-job';

/**
 * Which API a route belongs to: CF's external networking v1 (`{"error": ...}` bodies) or CF's V3
 * (`{"errors": [{code, title, detail}]}` bodies, lambdas/api/v3/cf-errors.ts).
 */
export type ApiFamily = 'v1' | 'v3';

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
  readonly api: ApiFamily;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
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
  /**
   * The OAuth scopes that may call the route: a token needs one of them. API Gateway's JWT authorizer
   * checks them (its route's authorizationScopes), and the handler checks them again.
   */
  readonly scopes: readonly string[];
}

export const API_PREFIX = '/networking/v1/external';

export const V3_PREFIX = '/v3';

/**
 * The OAuth scope every v1 route requires (UAA's `network.admin`, as in Cloud Foundry's policy
 * server); V3 routes also accept Cloud Controller's admin scopes (below).
 */
export const REQUIRED_SCOPE = 'network.admin';
const V1_SCOPES = [REQUIRED_SCOPE];
/** Who may change security groups: Cloud Controller's admins, and network admins. */
const V3_WRITE_SCOPES = ['cloud_controller.admin', REQUIRED_SCOPE];
/** Who may read them: also CF's read-only admins and global auditors. */
const V3_READ_SCOPES = [...V3_WRITE_SCOPES, 'cloud_controller.admin_read_only', 'cloud_controller.global_auditor'];
/** The pagination parameters of every V3 list (page from 1, per_page 1-5000, order_by). */
const V3_PAGINATION = ['page', 'per_page', 'order_by'];

/** API Gateway's `routeKey` of a route (`GET /networking/v1/external/destinations/{id}`). */
export function routeKeyOf(route: Pick<RouteDefinition, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

export const ROUTES: readonly RouteDefinition[] = [
  {
    name: 'list-destinations',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'GET',
    path: `${API_PREFIX}/destinations`,
    entry: 'lambdas/api/handlers/list-destinations.ts',
    tableActions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
    queryParameters: ['id', 'name'],
  },
  {
    name: 'create-destinations',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'POST',
    path: `${API_PREFIX}/destinations`,
    entry: 'lambdas/api/handlers/create-destinations.ts',
    // Name lookups (BatchGetItem); puts the destination and its name record, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'update-destinations',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'PUT',
    path: `${API_PREFIX}/destinations`,
    entry: 'lambdas/api/handlers/update-destinations.ts',
    // Reads destinations and new names (BatchGetItem); replaces them and their name records, deletes
    // released names, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'delete-destination',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'DELETE',
    path: `${API_PREFIX}/destinations/{id}`,
    entry: 'lambdas/api/handlers/delete-destination.ts',
    // Reads the destination (BatchGetItem) and its users (Query); deletes it and its name, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'list-egress-policies',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'GET',
    path: `${API_PREFIX}/egress_policies`,
    entry: 'lambdas/api/handlers/list-egress-policies.ts',
    // The policies (Query); their destinations by key (BatchGetItem), or all of them (Query).
    tableActions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
    queryParameters: ['SourceIDs', 'SourceTypes', 'DestinationIDs', 'DestinationNames'],
  },
  {
    name: 'create-egress-policies',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'POST',
    path: `${API_PREFIX}/egress_policies`,
    entry: 'lambdas/api/handlers/create-egress-policies.ts',
    // Reads destinations and existing policies (BatchGetItem); puts each policy and its reference,
    // moves the destinations' counters and the version (UpdateItem).
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'delete-egress-policy',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'DELETE',
    path: `${API_PREFIX}/egress_policies/{id}`,
    entry: 'lambdas/api/handlers/delete-egress-policy.ts',
    // Reads the policy and its destination (BatchGetItem); deletes it and its reference, moves the
    // destination's counter and the version (UpdateItem).
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'list-cells',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'GET',
    path: `${API_PREFIX}/cells`,
    entry: 'lambdas/api/handlers/list-cells.ts',
    tableActions: ['dynamodb:Query', 'dynamodb:GetItem'],
  },
  {
    name: 'list-security-groups',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    path: `${V3_PREFIX}/security_groups`,
    entry: 'lambdas/api/handlers/list-security-groups.ts',
    tableActions: ['dynamodb:Query'],
    queryParameters: [
      ...V3_PAGINATION,
      'guids',
      'names',
      'globally_enabled_running',
      'globally_enabled_staging',
      'running_space_guids',
      'staging_space_guids',
    ],
  },
  {
    name: 'create-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'POST',
    path: `${V3_PREFIX}/security_groups`,
    entry: 'lambdas/api/handlers/create-security-group.ts',
    // Reads the name record (GetItem); puts the group and its name record, bumps the version.
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'get-security-group',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    path: `${V3_PREFIX}/security_groups/{id}`,
    entry: 'lambdas/api/handlers/get-security-group.ts',
    tableActions: ['dynamodb:GetItem'],
  },
  {
    name: 'update-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'PATCH',
    path: `${V3_PREFIX}/security_groups/{id}`,
    entry: 'lambdas/api/handlers/update-security-group.ts',
    // Reads the group; replaces it (conditional on its revision), moves its name record on a rename,
    // bumps the version.
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'delete-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'DELETE',
    path: `${V3_PREFIX}/security_groups/{id}`,
    entry: 'lambdas/api/handlers/delete-security-group.ts',
    // Reads the group; deletes it and its name record, records the finished job, bumps the version.
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'bind-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'POST',
    // {relationship}: running_spaces, staging_spaces, and our running_organizations, staging_organizations.
    path: `${V3_PREFIX}/security_groups/{id}/relationships/{relationship}`,
    entry: 'lambdas/api/handlers/bind-security-group.ts',
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'unbind-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'DELETE',
    path: `${V3_PREFIX}/security_groups/{id}/relationships/{relationship}/{target}`,
    entry: 'lambdas/api/handlers/unbind-security-group.ts',
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  {
    name: 'list-space-security-groups',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    // {list}: running_security_groups or staging_security_groups.
    path: `${V3_PREFIX}/spaces/{id}/{list}`,
    entry: 'lambdas/api/handlers/list-space-security-groups.ts',
    tableActions: ['dynamodb:Query'],
    queryParameters: [...V3_PAGINATION, 'guids', 'names'],
  },
  {
    name: 'get-job',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    path: `${V3_PREFIX}/jobs/{id}`,
    entry: 'lambdas/api/handlers/get-job.ts',
    tableActions: ['dynamodb:GetItem'],
  },
];

/** The route an event was routed to (API Gateway and local mode both set its routeKey). */
export function routeOf(routeKey: string | undefined): RouteDefinition | undefined {
  return ROUTES.find((route) => routeKeyOf(route) === routeKey);
}
