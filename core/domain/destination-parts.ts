// A destination is matched by address (`ips`, with tcp, udp or icmp), by name (`hosts`; every http
// and https destination), or both (tcp or udp with ips and hosts). The two parts are enforced by
// different means: addresses by iptables rules (core/plan), names by resolving them into sets
// (issue 15 item 2) or by the cell's proxy matching the Host header or TLS SNI (item 3). This
// splits a destination into them, so that each consumer handles exactly the part it enforces and
// a part it cannot enforce allows nothing: an absent address part never becomes "any address".
import type { HttpRoute } from './http-routes.js';
import { isLayer7Protocol } from './model-primitives.js';
import type { DestinationSpec, IpRange, Layer7Protocol, PacketProtocol, PortRange } from './schemas.js';

/** What iptables can match: at least one address range, and the packet protocol's ports or icmp type. */
export interface AddressPart {
  readonly ips: readonly IpRange[];
  readonly ports: readonly PortRange[];
  readonly protocol: PacketProtocol;
  readonly icmp_type?: number;
  readonly icmp_code?: number;
}

/** What only a name can match: the hosts on their ports, over tcp or udp, or at layer 7 with routes. */
export interface NamePart {
  readonly hosts: readonly string[];
  readonly ports: readonly PortRange[];
  readonly protocol: Exclude<PacketProtocol, 'icmp'> | Layer7Protocol;
  /** http only; absent, any request. */
  readonly routes?: readonly HttpRoute[];
}

/**
 * True when the destination is matched by address alone (a packet protocol, ips, no hosts): then it
 * is its own address part, and the planner takes it as it is (no copy per policy: a hot path).
 */
export function isAddressOnly(
  destination: DestinationSpec,
): destination is DestinationSpec & { readonly protocol: PacketProtocol } {
  return (
    !isLayer7Protocol(destination.protocol) &&
    destination.ips.length > 0 &&
    (destination.hosts === undefined || destination.hosts.length === 0)
  );
}

/** The destination's addresses with what they are reached over, or undefined when it names none. */
export function addressPart(destination: DestinationSpec): AddressPart | undefined {
  const { protocol, ips, ports } = destination;
  if (isLayer7Protocol(protocol) || ips.length === 0) return undefined;
  return {
    ips,
    ports,
    protocol,
    ...(destination.icmp_type === undefined ? {} : { icmp_type: destination.icmp_type }),
    ...(destination.icmp_code === undefined ? {} : { icmp_code: destination.icmp_code }),
  };
}

/** The destination's host names with what they are reached over, or undefined when it has none. */
export function namePart(destination: DestinationSpec): NamePart | undefined {
  const { protocol, hosts, ports } = destination;
  if (hosts === undefined || hosts.length === 0 || protocol === 'icmp') return undefined;
  return { hosts, ports, protocol, ...(destination.routes === undefined ? {} : { routes: destination.routes }) };
}
