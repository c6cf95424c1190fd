import type { DestinationSpec, DestinationUpdate, EgressPolicyInput } from './schemas.js';
import type { Destination, EgressPolicy } from './types.js';

export interface DestinationFilter {
  readonly ids?: readonly string[];
  readonly names?: readonly string[];
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
  listEgressPolicies(): Promise<EgressPolicy[]>;
  createEgressPolicies(inputs: readonly EgressPolicyInput[]): Promise<CreatePoliciesResult>;
  deleteEgressPolicy(id: string): Promise<EgressPolicy>;
  /** The version of the latest committed write; 0 for an empty store. */
  currentVersion(): Promise<number>;
}
