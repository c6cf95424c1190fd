// Where a v1 destination becomes allow entries (allow-rules.ts), and the seam for its host names.
// Its address part (core/domain/destination-parts.ts) is enforced as it always was. Its name part is
// handed to a NameEnforcement: the cell agent resolving exact names into addresses (issue 15 item 2)
// and the per-cell proxy matching Host, SNI and routes (item 3) plug in there. Neither exists yet,
// so the default enforces nothing by name: host names, and every http or https destination, allow
// nothing (fail closed), and a destination with both ips and hosts allows exactly its ips.
import { addressPart, isAddressOnly, type NamePart, namePart } from '../domain/destination-parts.js';
import type { DestinationSpec } from '../domain/types.js';
import type { AllowEntry } from './allow-rules.js';

export interface NameEnforcement {
  /**
   * What the plan accepts for a destination's name part: allow entries for the addresses the cell
   * resolved its exact names to, say. `id` orders them among the source's entries (allow-rules.ts).
   * Whatever is returned is allowed, so return nothing for what is not enforced.
   */
  readonly allowEntries: (id: string, part: NamePart) => readonly AllowEntry[];
}

/**
 * This version: nothing is enforced by name, so a name part allows nothing. The planner (plan.ts)
 * and explain (explain.ts, which says so in its reasons) both rely on it; when enforcement comes,
 * it replaces this in both, through PlanOptions and the agent's options.
 */
export const NOT_ENFORCED_BY_NAME: NameEnforcement = { allowEntries: () => [] };

/** A v1 policy's allow entries: its addresses, then whatever `names` allows for its hosts. */
export function destinationAllowEntries(
  id: string,
  destination: DestinationSpec,
  names: NameEnforcement = NOT_ENFORCED_BY_NAME,
): AllowEntry[] {
  // Most destinations: the destination itself, not a copy (the planner's hot path, shapes kept).
  if (isAddressOnly(destination)) return [{ id, destination }];
  const addresses = addressPart(destination);
  const hosts = namePart(destination);
  return [
    ...(addresses === undefined ? [] : [{ id, destination: addresses }]),
    ...(hosts === undefined ? [] : names.allowEntries(id, hosts)),
  ];
}
