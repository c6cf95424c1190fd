// The agent benchmark's workload: deterministic policies and containers at a given size.

/** A tiny deterministic PRNG (mulberry32) so every run benchmarks the same rules. */
export function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SERVICES = [
  { protocol: 'tcp', ports: [443, 443] },
  { protocol: 'tcp', ports: [5432, 5432] },
  { protocol: 'tcp', ports: [3306, 3306] },
  { protocol: 'tcp', ports: [6379, 6379] },
  { protocol: 'tcp', ports: [8000, 8999] },
  { protocol: 'tcp', ports: [9092, 9094] },
  { protocol: 'udp', ports: [53, 53] },
  { protocol: 'udp', ports: [8125, 8125] },
  { protocol: 'tcp', ports: [27017, 27017] },
  { protocol: 'icmp' },
] as const;

export interface Scenario {
  policiesText: string;
  containersText: string;
  /** The same policies with one destination moved. */
  changedText: string;
}

export function containerIp(index: number, base = 1): string {
  return `10.255.${base + Math.floor(index / 250)}.${2 + (index % 250)}`;
}

/**
 * `pool` destinations shared by every app, as the v1 API's destination objects are: each a service and
 * one range (half of them up to 64 addresses wide), every policy pointing at one of them.
 */
function destinationPool(size: number, random: () => number): Record<string, unknown>[] {
  return Array.from({ length: size }, (_, k) => {
    const service = SERVICES[k % SERVICES.length] ?? SERVICES[0];
    // The v1 API allows one range per destination.
    const start = 1 + Math.floor(random() * 180);
    const end = random() < 0.5 ? start + Math.floor(random() * 64) : start;
    const net = `${100 + Math.floor(random() * 26)}.${Math.floor(random() * 250)}.${Math.floor(random() * 250)}`;
    const ips = [{ start: `${net}.${start}`, end: `${net}.${end}` }];
    const destination: Record<string, unknown> = {
      id: `dest-${k}`,
      name: `shared ${k}`,
      ips,
      protocol: service.protocol,
    };
    if ('ports' in service) destination.ports = [{ start: service.ports[0], end: service.ports[1] }];
    else destination.icmp_type = 8;
    return destination;
  });
}

/**
 * `distinctPorts`: every policy gets its own port, so nothing folds into sets (one rule per policy).
 * `pool`: every policy's destination is one of that many shared destinations (else each has its own).
 */
export function scenario(
  containers: number,
  perContainer: number,
  ipBase = 1,
  distinctPorts = false,
  pool?: number,
): Scenario {
  const random = prng(containers * 7919 + perContainer + (pool ?? 0));
  const shared = pool === undefined ? [] : destinationPool(pool, random);
  const policies: unknown[] = [];
  const store: Record<string, unknown> = {};
  for (let c = 0; c < containers; c += 1) {
    const appId = `app-${c}`;
    store[`handle-${c}`] = {
      handle: `handle-${c}`,
      ip: containerIp(c, ipBase),
      metadata: { app_id: appId, space_id: `space-${Math.floor(c / 10)}`, org_id: 'org' },
    };
    for (let p = 0; p < perContainer; p += 1) {
      const sharedDestination = shared[Math.floor(random() * shared.length)];
      if (sharedDestination !== undefined) {
        policies.push({
          id: `policy-${c}-${String(p).padStart(4, '0')}`,
          source: { type: 'app', id: appId },
          destination: sharedDestination,
        });
        continue;
      }
      const picked = SERVICES[Math.floor(random() * SERVICES.length)] ?? SERVICES[0];
      const service = distinctPorts ? { protocol: 'tcp', ports: [10_000 + p, 10_000 + p] } : picked;
      const a = Math.floor(random() * 200) + 1;
      const b = Math.floor(random() * 250) + 1;
      const start = `${random() < 0.5 ? '198.51.100' : '203.0.113'}.${b}`;
      const wide = random() < 0.2;
      const end = wide ? start.replace(/\.\d+$/, `.${Math.min(254, b + a)}`) : start;
      const destination: Record<string, unknown> = {
        id: `dest-${c}-${p}`,
        name: `destination ${c}-${p}`,
        ips: [{ start, end }],
        protocol: service.protocol,
      };
      if ('ports' in service) destination.ports = [{ start: service.ports[0], end: service.ports[1] }];
      else destination.icmp_type = 8;
      policies.push({
        id: `policy-${c}-${String(p).padStart(4, '0')}`,
        source: { type: 'app', id: appId },
        destination,
      });
    }
  }
  const list = { total_egress_policies: policies.length, egress_policies: policies };
  const policiesText = JSON.stringify(list);
  const changed = structuredClone(list);
  const first = changed.egress_policies[0] as { destination: { ips: { start: string; end: string }[] } };
  first.destination.ips = [{ start: '192.0.2.77', end: '192.0.2.77' }];
  return { policiesText, containersText: JSON.stringify(store), changedText: JSON.stringify(changed) };
}
