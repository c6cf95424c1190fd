// A container's connections to one port go to one listener of the cell proxy: http or https. When its
// policies give it one port both as http (one destination) and as https (another), no choice would be
// what both say, so the container gets neither destination (fail closed, on their every port) and the
// conflict is reported. Failing the whole proxy step instead would leave the cell's last proxy state in
// force, revoked destinations included, until someone fixes the policies. Pure.
import type { PortRange } from '../domain/schemas.js';

/** One container given overlapping ports as http and as https. */
export interface Layer7Conflict {
  /** The container's address. */
  readonly source: string;
  /** The ports both claim (the first overlap found). */
  readonly ports: PortRange;
  readonly http: string;
  readonly https: string;
}

interface Claim {
  readonly id: string;
  readonly protocol: 'http' | 'https';
  readonly ports: readonly PortRange[];
}

/**
 * The conflicts of each container (by address) among the destinations it is a source of, and the
 * ids of the destinations each conflicted container must be taken out of.
 */
export function findLayer7Conflicts(claimsBySource: ReadonlyMap<string, readonly Claim[]>): {
  readonly conflicts: Layer7Conflict[];
  readonly withdrawn: Map<string, Set<string>>;
} {
  const conflicts: Layer7Conflict[] = [];
  const withdrawn = new Map<string, Set<string>>();
  for (const [source, claims] of claimsBySource) {
    const http = claims.filter((claim) => claim.protocol === 'http');
    const https = claims.filter((claim) => claim.protocol === 'https');
    for (const plain of http) {
      for (const tls of https) {
        const ports = firstOverlap(plain.ports, tls.ports);
        if (ports === undefined) continue;
        conflicts.push({ source, ports, http: plain.id, https: tls.id });
        const ids = withdrawn.get(source) ?? new Set<string>();
        ids.add(plain.id).add(tls.id);
        withdrawn.set(source, ids);
      }
    }
  }
  return { conflicts, withdrawn };
}

function firstOverlap(a: readonly PortRange[], b: readonly PortRange[]): PortRange | undefined {
  for (const x of a) {
    for (const y of b) {
      const start = Math.max(x.start, y.start);
      const end = Math.min(x.end, y.end);
      if (start <= end) return { start, end };
    }
  }
  return undefined;
}
