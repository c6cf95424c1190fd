// Route name → operation, for local mode (Lambda loads one handler file per function instead).
import { createDestinations } from './handlers/create-destinations.js';
import { createEgressPolicies } from './handlers/create-egress-policies.js';
import { deleteDestination } from './handlers/delete-destination.js';
import { deleteEgressPolicy } from './handlers/delete-egress-policy.js';
import { listCells } from './handlers/list-cells.js';
import { listDestinations } from './handlers/list-destinations.js';
import { listEgressPolicies } from './handlers/list-egress-policies.js';
import { updateDestinations } from './handlers/update-destinations.js';
import type { RouteName } from './routes.js';
import type { Operation } from './types.js';

export const OPERATIONS: Readonly<Record<RouteName, Operation>> = {
  'list-destinations': listDestinations,
  'create-destinations': createDestinations,
  'update-destinations': updateDestinations,
  'delete-destination': deleteDestination,
  'list-egress-policies': listEgressPolicies,
  'create-egress-policies': createEgressPolicies,
  'delete-egress-policy': deleteEgressPolicy,
  'list-cells': listCells,
};
