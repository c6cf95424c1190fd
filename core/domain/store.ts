import type { DestinationSpec, DestinationUpdate, EgressPolicyInput, SourceType } from './schemas.js';
import type { Destination, EgressPolicy } from './types.js';

export interface DestinationFilter {
  readonly ids?: readonly string[];
  readonly names?: readonly string[];
}

/**
 * GET /egress_policies' filters (CF's policy server's): a policy matches when it matches one value of
 * each filter given. Source ids match as given or in lower case (they are stored in lower case).
 */
export interface EgressPolicyFilter {
  readonly sourceIds?: readonly string[];
  readonly sourceTypes?: readonly SourceType[];
  readonly destinationIds?: readonly string[];
  readonly destinationNames?: readonly string[];
}

export interface CreatePoliciesResult {
  /** One policy per distinct requested policy, in request order; existing ones are returned as they are. */
  readonly policies: EgressPolicy[];
  /** How many of them this call created (0 when every one already existed). */
  readonly created: number;
}

/**
 * Where policies live. Every write is all-or-nothing and advances the policy version by one, so
 * cells can tell newer state from older. Implementations throw the errors of ./errors.ts.
 */
export interface PolicyStore {
  listDestinations(filter?: DestinationFilter): Promise<Destination[]>;
  createDestinations(specs: readonly DestinationSpec[]): Promise<Destination[]>;
  updateDestinations(updates: readonly DestinationUpdate[]): Promise<Destination[]>;
  deleteDestination(id: string): Promise<Destination>;
  /** Every policy (what a snapshot holds): both partitions read at once. */
  listEgressPolicies(): Promise<EgressPolicy[]>;
  /** The policies a filter matches (the API's list), reading only the destinations they point at. */
  findEgressPolicies(filter: EgressPolicyFilter): Promise<EgressPolicy[]>;
  createEgressPolicies(inputs: readonly EgressPolicyInput[]): Promise<CreatePoliciesResult>;
  deleteEgressPolicy(id: string): Promise<EgressPolicy>;
  /** The version of the latest committed write; 0 for an empty store. */
  currentVersion(): Promise<number>;
}
