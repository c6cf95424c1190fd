// Policies for shard tests: apps with tcp destinations, some destinations shared between apps.
import { buildSnapshot, type EncodedSnapshot, encodeSnapshot } from '../../core/domain/snapshot.js';
import type { Destination, EgressPolicy } from '../../core/domain/types.js';

export function destination(id: string, ip: string, port = 443): Destination {
  return {
    id,
    name: `destination ${id}`,
    protocol: 'tcp',
    ips: [{ start: ip, end: ip }],
    ports: [{ start: port, end: port }],
  };
}

export function appPolicy(app: string, to: Destination): EgressPolicy {
  return { id: `${app}-${to.id}`, source: { type: 'app', id: app }, destination: to };
}

/** The encoded snapshot of `version` holding these policies, as the fan-out publishes it. */
export function published(version: number, policies: readonly EgressPolicy[]): EncodedSnapshot {
  return encodeSnapshot(buildSnapshot(version, [...policies]));
}
