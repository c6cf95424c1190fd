// Where a v1 destination becomes allow entries (allow-rules.ts), and the seam for its host names.
// Its address part (core/domain/destination-parts.ts) is enforced as it always was. Its name part is
// handed to a NameEnforcement:
// - NOT_ENFORCED_BY_NAME allows nothing by name (fail closed): what the API side (explain.ts) plans
//   with, since it cannot resolve names.
// - BY_HOST_SETS, the cell agent's (issue 15 item 2): a tcp, udp or all destination's exact names
//   are allowed through its host set (hostSetName), which the cell keeps at the names' current
//   addresses (agent/names/). Wildcards cannot be resolved, and http/https are matched by the
//   cell's proxy (layer7.ts), not by the filter rules: those allow nothing here.
// A destination with both ips and hosts allows its ips and whatever its names allow.
import { addressPart, isAddressOnly, type NamePart, namePart } from '../domain/destination-parts.js';
import { isWildcardHost } from '../domain/host-names.js';
import { isLayer7Protocol } from '../domain/model-primitives.js';
import type { DestinationSpec } from '../domain/types.js';
import type { AllowEntry } from './allow-rules.js';
import { hostSetName } from './names.js';

export interface NameEnforcement {
  /**
   * What the plan accepts for a destination's name part: allow entries for the addresses the cell
   * resolved its exact names to, say. `id` orders them among the source's entries (allow-rules.ts);
   * `destinationId` is the destination's own id (what a host set is named after).
   * Whatever is returned is allowed, so return nothing for what is not enforced.
   */
  readonly allowEntries: (id: string, part: NamePart, destinationId: string) => readonly AllowEntry[];
}

/**
 * Nothing is enforced by name, so a name part allows nothing: what explain (explain.ts) plans with,
 * and the default of planRules.
 */
export const NOT_ENFORCED_BY_NAME: NameEnforcement = { allowEntries: () => [] };

/**
 * The cell agent's: a tcp, udp or all name part with exact names allows its ports (all: every
 * protocol) to the members of its destination's host set. Wildcard names are left out (a
 * destination with only wildcards allows nothing); http and https allow nothing.
 */
export const BY_HOST_SETS: NameEnforcement = {
  allowEntries: (id, part, destinationId) => {
    if (isLayer7Protocol(part.protocol)) return [];
    const protocol = part.protocol;
    const hosts = part.hosts.filter((host) => !isWildcardHost(host));
    if (hosts.length === 0) return [];
    return [
      {
        id,
        destination: {
          hostSet: { name: hostSetName(destinationId, hosts), destinationId, hosts },
          ports: part.ports,
          protocol,
        },
      },
    ];
  },
};

/** A v1 policy's allow entries: its addresses, then whatever `names` allows for its hosts. */
export function destinationAllowEntries(
  id: string,
  destination: DestinationSpec & { readonly id?: string },
  names: NameEnforcement = NOT_ENFORCED_BY_NAME,
): AllowEntry[] {
  // Most destinations: the destination itself, not a copy (the planner's hot path, shapes kept).
  if (isAddressOnly(destination)) return [{ id, destination }];
  const addresses = addressPart(destination);
  const hosts = namePart(destination);
  return [
    ...(addresses === undefined ? [] : [{ id, destination: addresses }]),
    // A destination without an id (none the API stores) has no host set to name: nothing by name.
    ...(hosts === undefined || destination.id === undefined ? [] : names.allowEntries(id, hosts, destination.id)),
  ];
}
