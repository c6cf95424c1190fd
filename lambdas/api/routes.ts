// Every API route once: local mode routes requests with it, the handlers check scopes and query
// parameters against it, the CDK stack creates one API Gateway route per entry (authorized unless
// it is `public`; its Lambda and table grants are in route-functions.ts, which only the stack reads:
// every function bundles this file), and lambdas/api/openapi/ describes each in the OpenAPI
// document. Pure data, so the stack can import it without loading handler code.

export type RouteName =
  | 'list-destinations'
  | 'create-destinations'
  | 'update-destinations'
  | 'delete-destination'
  | 'list-egress-policies'
  | 'create-egress-policies'
  | 'delete-egress-policy'
  | 'list-cells'
  | 'explain'
  | 'list-security-groups'
  | 'create-security-group'
  | 'get-security-group'
  | 'update-security-group'
  | 'delete-security-group'
  | 'bind-security-group'
  | 'unbind-security-group'
  | 'list-space-security-groups'
  | 'get-job'
  | 'get-openapi';

/**
 * Which API a route belongs to: CF's external networking v1 (`{"error": ...}` bodies) or CF's V3
 * (`{"errors": [{code, title, detail}]}` bodies, lambdas/api/v3/cf-errors.ts).
 */
export type ApiFamily = 'v1' | 'v3';

export interface RouteDefinition {
  readonly name: RouteName;
  readonly api: ApiFamily;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway route path; `{id}` is a path parameter. */
  readonly path: string;
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
  /**
   * Served without a token: no JWT authorizer on its API Gateway route, no token check in local mode
   * or in the handler. Only for documents anyone may read (the OpenAPI description); its `scopes`
   * are empty. @default false
   */
  readonly public?: true;
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
    queryParameters: ['id', 'name'],
  },
  {
    name: 'create-destinations',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'POST',
    path: `${API_PREFIX}/destinations`,
  },
  {
    name: 'update-destinations',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'PUT',
    path: `${API_PREFIX}/destinations`,
  },
  {
    name: 'delete-destination',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'DELETE',
    path: `${API_PREFIX}/destinations/{id}`,
  },
  {
    name: 'list-egress-policies',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'GET',
    path: `${API_PREFIX}/egress_policies`,
    queryParameters: ['SourceIDs', 'SourceTypes', 'DestinationIDs', 'DestinationNames'],
  },
  {
    name: 'create-egress-policies',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'POST',
    path: `${API_PREFIX}/egress_policies`,
  },
  {
    name: 'delete-egress-policy',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'DELETE',
    path: `${API_PREFIX}/egress_policies/{id}`,
  },
  {
    name: 'list-cells',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'GET',
    path: `${API_PREFIX}/cells`,
  },
  {
    name: 'explain',
    api: 'v1',
    scopes: V1_SCOPES,
    method: 'GET',
    path: `${API_PREFIX}/explain`,
    queryParameters: [
      'app',
      'space',
      'org',
      'workload',
      'ip',
      'port',
      'protocol',
      'icmp_type',
      'icmp_code',
      'host',
      'method',
      'path',
      'headers',
    ],
  },
  {
    name: 'list-security-groups',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    path: `${V3_PREFIX}/security_groups`,
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
  },
  {
    name: 'get-security-group',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    path: `${V3_PREFIX}/security_groups/{id}`,
  },
  {
    name: 'update-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'PATCH',
    path: `${V3_PREFIX}/security_groups/{id}`,
  },
  {
    name: 'delete-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'DELETE',
    path: `${V3_PREFIX}/security_groups/{id}`,
  },
  {
    name: 'bind-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'POST',
    // {relationship}: running_spaces, staging_spaces, and our running_organizations, staging_organizations.
    path: `${V3_PREFIX}/security_groups/{id}/relationships/{relationship}`,
  },
  {
    name: 'unbind-security-group',
    api: 'v3',
    scopes: V3_WRITE_SCOPES,
    method: 'DELETE',
    path: `${V3_PREFIX}/security_groups/{id}/relationships/{relationship}/{target}`,
  },
  {
    name: 'list-space-security-groups',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    // {list}: running_security_groups or staging_security_groups.
    path: `${V3_PREFIX}/spaces/{id}/{list}`,
    queryParameters: [...V3_PAGINATION, 'guids', 'names'],
  },
  {
    name: 'get-job',
    api: 'v3',
    scopes: V3_READ_SCOPES,
    method: 'GET',
    path: `${V3_PREFIX}/jobs/{id}`,
  },
  {
    // The API's OpenAPI 3.1 description (lambdas/api/openapi/), for clients and code generators.
    name: 'get-openapi',
    api: 'v1',
    scopes: [],
    public: true,
    method: 'GET',
    path: '/openapi.json',
  },
];

/** The route an event was routed to (API Gateway and local mode both set its routeKey). */
export function routeOf(routeKey: string | undefined): RouteDefinition | undefined {
  return ROUTES.find((route) => routeKeyOf(route) === routeKey);
}
