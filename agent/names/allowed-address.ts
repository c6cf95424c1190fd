// What a DNS answer may put into an allow set. An answer is input from outside (whoever controls the
// name's zone, or spoofs its answers, writes it), so it must never open more than a public or private
// unicast address: never this host, never a broadcast or multicast group, never a link-local address
// (169.254.169.254 is the cloud's instance metadata service), never the container network itself nor
// a network the operator denies.
import { parseIpv4 } from '../../core/domain/ipv4.js';
import { inCidr } from '../../core/plan/cidr.js';

/** Networks no answer may add, whatever the caller passes, with the reason a refusal gives. */
export const REFUSED_NETWORKS: readonly { readonly cidr: string; readonly reason: string }[] = [
  { cidr: '0.0.0.0/8', reason: '"this network" (0.0.0.0/8)' },
  { cidr: '127.0.0.0/8', reason: 'loopback (127.0.0.0/8)' },
  { cidr: '169.254.0.0/16', reason: 'link-local (169.254.0.0/16, the instance metadata service among them)' },
  { cidr: '224.0.0.0/4', reason: 'multicast (224.0.0.0/4)' },
  { cidr: '240.0.0.0/4', reason: 'reserved or broadcast (240.0.0.0/4, 255.255.255.255 among them)' },
];

/**
 * Why `address` may not go into an allow set, or undefined when it may. `never` are the caller's
 * networks (the overlay, the operator's deny networks), as CIDR blocks.
 */
export function refusedAddress(address: string, never: readonly string[] = []): string | undefined {
  if (parseIpv4(address) < 0) return 'not a dotted-quad IPv4 address';
  for (const network of REFUSED_NETWORKS) if (inCidr(address, network.cidr)) return network.reason;
  for (const cidr of never) if (inCidr(address, cidr)) return `inside ${cidr}, which no answer may open`;
  return undefined;
}
