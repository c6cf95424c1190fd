// Route name → operation, for local mode (Lambda loads one handler file per function instead).
import { bindSecurityGroup } from './handlers/bind-security-group.js';
import { createDestinations } from './handlers/create-destinations.js';
import { createEgressPolicies } from './handlers/create-egress-policies.js';
import { createSecurityGroup } from './handlers/create-security-group.js';
import { deleteDestination } from './handlers/delete-destination.js';
import { deleteEgressPolicy } from './handlers/delete-egress-policy.js';
import { deleteSecurityGroup } from './handlers/delete-security-group.js';
import { explainConnection } from './handlers/explain.js';
import { getJob } from './handlers/get-job.js';
import { getSecurityGroup } from './handlers/get-security-group.js';
import { listCells } from './handlers/list-cells.js';
import { listDestinations } from './handlers/list-destinations.js';
import { listEgressPolicies } from './handlers/list-egress-policies.js';
import { listSecurityGroups } from './handlers/list-security-groups.js';
import { listSpaceSecurityGroups } from './handlers/list-space-security-groups.js';
import { unbindSecurityGroup } from './handlers/unbind-security-group.js';
import { updateDestinations } from './handlers/update-destinations.js';
import { updateSecurityGroup } from './handlers/update-security-group.js';
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
  explain: explainConnection,
  'list-security-groups': listSecurityGroups,
  'create-security-group': createSecurityGroup,
  'get-security-group': getSecurityGroup,
  'update-security-group': updateSecurityGroup,
  'delete-security-group': deleteSecurityGroup,
  'bind-security-group': bindSecurityGroup,
  'unbind-security-group': unbindSecurityGroup,
  'list-space-security-groups': listSpaceSecurityGroups,
  'get-job': getJob,
};
