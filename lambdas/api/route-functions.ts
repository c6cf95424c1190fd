// What the CDK stack needs of each API route beyond routes.ts: the handler it bundles and exactly the
// table actions its role may call. Kept apart from routes.ts, which every function bundles: none of
// them needs this (about 2 KB of strings in each bundle).
import { ROUTES, type RouteDefinition, type RouteName } from './routes.js';

export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem';

export interface RouteFunctionDefinition {
  /** Handler module, relative to the project root; it exports `handler`. */
  readonly entry: string;
  /**
   * Exactly the DynamoDB actions the handler's store calls make. TransactWriteItems has no IAM action
   * of its own: each item in it needs its action (Put → PutItem, Update → UpdateItem, Delete →
   * DeleteItem); every write also bumps the version record (UpdateItem). None: the function gets
   * no table access at all (and no TABLE_NAME).
   */
  readonly tableActions: readonly TableAction[];
}

/** A route with its function: what lib/route-function.ts builds. */
export type DeployedRoute = RouteDefinition & RouteFunctionDefinition;

const handler = (name: RouteName): string => `lambdas/api/handlers/${name}.ts`;

export const ROUTE_FUNCTIONS: Readonly<Record<RouteName, RouteFunctionDefinition>> = {
  'list-destinations': {
    entry: handler('list-destinations'),
    tableActions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
  },
  'create-destinations': {
    entry: handler('create-destinations'),
    // Name lookups (BatchGetItem); puts the destination and its name record, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  'update-destinations': {
    entry: handler('update-destinations'),
    // Reads destinations and new names (BatchGetItem) and the users of each (Query: the shards the
    // version record names as changed); replaces them and their name records, deletes released
    // names, bumps the version.
    tableActions: [
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:UpdateItem',
    ],
  },
  'delete-destination': {
    entry: handler('delete-destination'),
    // Reads the destination (BatchGetItem) and its users (Query); deletes it and its name, bumps the version.
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  'list-egress-policies': {
    entry: handler('list-egress-policies'),
    // The policies (Query); their destinations by key (BatchGetItem), or all of them (Query).
    tableActions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
  },
  'create-egress-policies': {
    entry: handler('create-egress-policies'),
    // Reads destinations and existing policies (BatchGetItem); puts each policy and its reference,
    // moves the destinations' counters and the version (UpdateItem).
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  'delete-egress-policy': {
    entry: handler('delete-egress-policy'),
    // Reads the policy and its destination (BatchGetItem); deletes it and its reference, moves the
    // destination's counter and the version (UpdateItem).
    tableActions: ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  'list-cells': {
    entry: handler('list-cells'),
    // Reports (Query), the version and the snapshot pointer (GetItem), the change log (BatchGetItem).
    tableActions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:BatchGetItem'],
  },
  explain: {
    entry: handler('explain'),
    // The version (GetItem); the app's, the space's and every-app policies (Query) and their
    // destinations (BatchGetItem); every security group (Query).
    tableActions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
  },
  'list-security-groups': {
    entry: handler('list-security-groups'),
    tableActions: ['dynamodb:Query'],
  },
  'create-security-group': {
    entry: handler('create-security-group'),
    // Reads the name record (GetItem); puts the group and its name record, bumps the version.
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  'get-security-group': {
    entry: handler('get-security-group'),
    tableActions: ['dynamodb:GetItem'],
  },
  'update-security-group': {
    entry: handler('update-security-group'),
    // Reads the group; replaces it (conditional on its revision), moves its name record on a rename,
    // bumps the version.
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  'delete-security-group': {
    entry: handler('delete-security-group'),
    // Reads the group; deletes it and its name record, records the finished job, bumps the version.
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
  },
  'bind-security-group': {
    entry: handler('bind-security-group'),
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  'unbind-security-group': {
    entry: handler('unbind-security-group'),
    tableActions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  'list-space-security-groups': {
    entry: handler('list-space-security-groups'),
    tableActions: ['dynamodb:Query'],
  },
  'get-job': {
    entry: handler('get-job'),
    tableActions: ['dynamodb:GetItem'],
  },
  'get-openapi': {
    entry: handler('get-openapi'),
    // Serves a document built from the code: no table.
    tableActions: [],
  },
};

/** Every route with its function, in ROUTES order. */
export const DEPLOYED_ROUTES: readonly DeployedRoute[] = ROUTES.map((route) => ({
  ...route,
  ...ROUTE_FUNCTIONS[route.name],
}));
