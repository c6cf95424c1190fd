import type { DestinationSpec, PolicySource } from './schemas.js';

export type { DestinationSpec, IpRange, PolicySource, PortRange, Protocol, SourceType } from './schemas.js';

/** A stored destination: its canonical spec plus the GUID we gave it. */
export interface Destination extends DestinationSpec {
  id: string;
}

/**
 * An egress policy as the API returns it, destination embedded. `app_lifecycle` is present only
 * when the policy is for one lifecycle (`running` or `staging`); absent, it applies to all.
 */
export interface EgressPolicy {
  id: string;
  source: PolicySource;
  destination: Destination;
  app_lifecycle?: 'running' | 'staging';
}

export interface DestinationList {
  total_destinations: number;
  destinations: Destination[];
}

/** The body of GET /egress_policies, which the agent also reads (egressPolicyListSchema parses it). */
export interface EgressPolicyList {
  total_egress_policies: number;
  egress_policies: EgressPolicy[];
}

export function destinationList(destinations: Destination[]): DestinationList {
  return { total_destinations: destinations.length, destinations };
}

export function egressPolicyList(policies: EgressPolicy[]): EgressPolicyList {
  return { total_egress_policies: policies.length, egress_policies: policies };
}
