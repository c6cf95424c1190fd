// What a plan's ipsets hold, against what one set per distinct destination would hold: the measure of
// issue 10's "payload proportional to the policy" goal.

import type { EgressPolicyList } from '../../core/domain/types.js';
import { setEntries } from '../../core/plan/allow-rules.js';
import { entryCount, type RulePlan } from '../../core/plan/model.js';

export interface SetPayload {
  readonly hashSets: number;
  /** hash:net,port sets: one per source, for its single-port services. */
  readonly portSets: number;
  /** Entries of hash:net and hash:net,port sets: address blocks, and the nomatch blocks inside them. */
  readonly addressMembers: number;
  /** Of those, nomatch blocks. */
  readonly nomatchMembers: number;
  readonly listSets: number;
  /** Set names in list:sets: one per source and shared destination it lists. */
  readonly references: number;
  /** Distinct destinations (by addresses) among the policies, and their entries if each had one set. */
  readonly distinctDestinations: number;
  readonly oneSetPerDestination: number;
}

export function setPayload(plan: RulePlan, policies: EgressPolicyList): SetPayload {
  const distinct = new Map<string, number>();
  for (const policy of policies.egress_policies) {
    const key = policy.destination.ips.map((range) => `${range.start}-${range.end}`).join(',');
    if (distinct.has(key)) continue;
    const entries = setEntries(policy.destination.ips);
    distinct.set(key, entries.members.length + entries.nomatch.length);
  }
  const count = (type: string) => plan.sets.filter((set) => set.type === type);
  const members = (type: string) => count(type).reduce((sum, set) => sum + entryCount(set), 0);
  // A hash:net,port entry is one block for one port: the same count as the block in a hash:net set.
  const addressSets = plan.sets.filter((set) => set.type !== 'list:set');
  return {
    hashSets: count('hash:net').length,
    portSets: count('hash:net,port').length,
    addressMembers: addressSets.reduce((sum, set) => sum + entryCount(set), 0),
    nomatchMembers: addressSets.reduce((sum, set) => sum + (set.nomatch?.length ?? 0), 0),
    listSets: count('list:set').length,
    references: members('list:set'),
    distinctDestinations: distinct.size,
    oneSetPerDestination: [...distinct.values()].reduce((sum, n) => sum + n, 0),
  };
}
