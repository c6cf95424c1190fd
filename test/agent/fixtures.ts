// Builders for policies and container stores as the agent reads them (API / CF cell shapes).
export interface PolicyDoc {
  id: string;
  source: { type: 'app' | 'space'; id: string };
  destination: Record<string, unknown>;
}

export type Source = PolicyDoc['source'];

export const app = (id: string): Source => ({ type: 'app', id });
export const space = (id: string): Source => ({ type: 'space', id });

export function tcp(id: string, source: Source, ips: [string, string], ports: [number, number]): PolicyDoc {
  return destinationPolicy(id, source, { protocol: 'tcp', ips, ports });
}

export function udp(id: string, source: Source, ips: [string, string], ports: [number, number]): PolicyDoc {
  return destinationPolicy(id, source, { protocol: 'udp', ips, ports });
}

export function icmp(id: string, source: Source, ips: [string, string], type?: number, code?: number): PolicyDoc {
  return destinationPolicy(id, source, { protocol: 'icmp', ips, type, code });
}

function destinationPolicy(
  id: string,
  source: Source,
  spec: { protocol: string; ips: [string, string]; ports?: [number, number]; type?: number; code?: number },
): PolicyDoc {
  const destination: Record<string, unknown> = {
    id: `dest-${id}`,
    name: `destination ${id}`,
    ips: [{ start: spec.ips[0], end: spec.ips[1] }],
    protocol: spec.protocol,
  };
  if (spec.ports !== undefined) destination.ports = [{ start: spec.ports[0], end: spec.ports[1] }];
  if (spec.type !== undefined) destination.icmp_type = spec.type;
  if (spec.code !== undefined) destination.icmp_code = spec.code;
  return { id, source, destination };
}

export function policyList(policies: readonly PolicyDoc[]): {
  total_egress_policies: number;
  egress_policies: PolicyDoc[];
} {
  return { total_egress_policies: policies.length, egress_policies: [...policies] };
}

export interface StoreEntry {
  ip: string;
  appId: string;
  spaceId: string;
  /** @default 'org-1'; null leaves `org_id` out */
  orgId?: string | null;
  /** `container_workload`; @default 'app'; null leaves it out */
  workload?: string | null;
}

/** A CF container metadata store (store.json) for the given containers. */
/** `count` containers at 10.255.1.2 on, each its own app (`app-<index>`), all in space-1. */
export function oneAppEach(count: number): StoreEntry[] {
  return Array.from({ length: count }, (_, index) => ({
    ip: `10.255.1.${index + 2}`,
    appId: `app-${index}`,
    spaceId: 'space-1',
  }));
}

export function containerStore(entries: readonly StoreEntry[]): Record<string, unknown> {
  const store: Record<string, unknown> = {};
  for (const [index, entry] of entries.entries()) {
    const handle = `handle-${index}-${entry.ip.replaceAll('.', '-')}`;
    store[handle] = {
      handle,
      ip: entry.ip,
      metadata: {
        app_id: entry.appId,
        space_id: entry.spaceId,
        ...(entry.orgId === null ? {} : { org_id: entry.orgId ?? 'org-1' }),
        policy_group_id: entry.appId,
        ports: '8080',
        ...(entry.workload === null ? {} : { container_workload: entry.workload ?? 'app' }),
      },
    };
  }
  return store;
}
