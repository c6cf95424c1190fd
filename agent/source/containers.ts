// From the validated store entries to the agent's Container list.
import { ValidationError } from '../../core/domain/errors.js';
import { ipv4ToNumber, parseCidr } from '../../core/domain/ipv4.js';
import { lifecycleOf } from '../../core/domain/security-group.js';
import { listProblems, quote } from '../../core/domain/validation.js';
import { normalizeCidr } from '../../core/plan/cidr.js';
import type { Container } from '../../core/plan/model.js';
import type { StoreEntry } from './containers-schema.js';

/**
 * A check saying why an address cannot be a container's on the overlay, or undefined when it can.
 * A container's rules reject what it sends, keyed by its address: an address outside the overlay
 * (8.8.8.8, 127.0.0.1, 224.0.0.1) or the overlay's network or broadcast address is no container's,
 * and rules for it would reject forwarded traffic that is not a container's. /31 and /32 overlays
 * have no network or broadcast address.
 */
function overlayCheck(overlayCidr: string): (ip: string) => string | undefined {
  const overlay = normalizeCidr(overlayCidr);
  const { start, end } = parseCidr(overlay);
  const hasNetworkAddress = end - start >= 3;
  return (ip) => {
    const address = ipv4ToNumber(ip);
    if (address < start || address > end) return `${ip} is outside the overlay ${overlay}`;
    if (hasNetworkAddress && address === start) return `${ip} is the network address of the overlay ${overlay}`;
    if (hasNetworkAddress && address === end) return `${ip} is the broadcast address of the overlay ${overlay}`;
    return undefined;
  };
}

/**
 * One Container per store entry, sorted by IP. Refused, naming every handle concerned: an address that
 * is no container's on `overlayCidr`, and two entries with one IP (they cannot be told apart).
 */
export function containersFromStore(entries: readonly StoreEntry[], overlayCidr: string): Container[] {
  const misplaced = overlayCheck(overlayCidr);
  const byIp = new Map<string, { handle: string; container: Container }>();
  const problems: string[] = [];
  for (const { handle, entry } of entries) {
    const wrongPlace = misplaced(entry.ip);
    if (wrongPlace !== undefined) problems.push(`${quote(handle)}.ip: ${wrongPlace}`);
    const seen = byIp.get(entry.ip);
    if (seen !== undefined) {
      problems.push(`${quote(handle)}.ip: ${entry.ip} is also the ip of ${quote(seen.handle)}`);
      continue;
    }
    byIp.set(entry.ip, {
      handle,
      container: {
        ip: entry.ip,
        appId: entry.metadata.app_id,
        spaceId: entry.metadata.space_id,
        ...(entry.metadata.org_id === undefined ? {} : { orgId: entry.metadata.org_id }),
        lifecycle: lifecycleOf(entry.metadata.container_workload),
      },
    });
  }
  if (problems.length > 0) throw new ValidationError(listProblems(problems));
  // Every entry is a container: nothing was dropped on the way (duplicates were refused above).
  if (byIp.size !== entries.length) throw new Error(`${entries.length} store entries became ${byIp.size} containers`);
  return [...byIp.values()].map((value) => value.container).sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));
}
