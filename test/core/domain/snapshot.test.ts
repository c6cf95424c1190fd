// The snapshot cells read: what survives the round trip, what a cell refuses, the older formats, and
// the security groups section (every rule once, bindings merged).
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/domain/errors.js';
import {
  assertValidSnapshot,
  buildSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  sha256,
  snapshotToPolicyList,
} from '../../../core/domain/snapshot.js';
import type { Destination, EgressPolicy } from '../../../core/domain/types.js';

const db: Destination = {
  id: 'dest-db',
  name: 'db',
  ips: [{ start: '198.51.100.10', end: '198.51.100.10' }],
  ports: [{ start: 3306, end: 3306 }],
  protocol: 'tcp',
};
const ping: Destination = {
  id: 'dest-ping',
  name: 'ping',
  ips: [{ start: '203.0.113.0', end: '203.0.113.255' }],
  ports: [],
  protocol: 'icmp',
  icmp_type: 8,
  icmp_code: 0,
};

const policy = (id: string, type: 'app' | 'space', sourceId: string, destination: Destination): EgressPolicy => ({
  id,
  source: { type, id: sourceId },
  destination,
});

const policies = [
  policy('p1', 'app', 'app-1', db),
  policy('p2', 'space', 'space-1', ping),
  policy('p3', 'app', 'app-1', ping),
  policy('p4', 'app', 'app-2', db),
];

const gzipJson = (value: unknown): Buffer => gzipSync(JSON.stringify(value));

describe('snapshot', () => {
  it('stores each destination once and each source once, and gives back every policy', () => {
    const snapshot = buildSnapshot(7, policies);
    expect(snapshot.destinations).toEqual([db, ping]);
    expect(snapshot.sources).toEqual([
      ['app', 'app-1', [0, 1]],
      ['space', 'space-1', [1]],
      ['app', 'app-2', [0]],
    ]);
    const encoded = encodeSnapshot(snapshot);
    const list = snapshotToPolicyList(decodeSnapshot(encoded.bytes, encoded.sha256));
    expect(list.total_egress_policies).toBe(4);
    const pairs = (items: readonly EgressPolicy[]) =>
      items.map((p) => `${p.source.type}:${p.source.id}->${p.destination.id}`).sort();
    expect(pairs(list.egress_policies)).toEqual(pairs(policies));
    expect(list.egress_policies.find((p) => p.source.id === 'space-1')?.destination).toEqual(ping);
  });

  it('refuses bytes that do not match the checksum, are not gzip JSON, or point past the destinations', () => {
    const encoded = encodeSnapshot(buildSnapshot(1, policies));
    expect(() => decodeSnapshot(encoded.bytes, sha256(Buffer.from('other')))).toThrow(/checksum/);
    const notGzip = Buffer.from('{}');
    expect(() => decodeSnapshot(notGzip, sha256(notGzip))).toThrow(/not gzip/);
    for (const format of [2, 3]) {
      const pastEnd = gzipJson({
        format,
        version: 1,
        destinations: [db],
        sources: [['app', 'a', [1]]],
        ...(format === 3 ? { security_groups: { rules: [], bindings: [] } } : {}),
      });
      expect(() => decodeSnapshot(pastEnd, sha256(pastEnd))).toThrow(/sources\[0\]\[2\]: points past the destinations/);
    }
    const hostile = gzipJson({ format: 2, version: 1, destinations: [db], sources: [['app', '-j ACCEPT', [0]]] });
    expect(() => decodeSnapshot(hostile, sha256(hostile))).toThrow(ValidationError);
    const future = gzipJson({ format: 4, version: 1 });
    expect(() => decodeSnapshot(future, sha256(future))).toThrow(/must be 1, 2 or 3/);
  });

  it('still reads format 1, so cells keep working until the next publish after an upgrade', () => {
    const old = gzipJson({
      format: 1,
      version: 5,
      destinations: [db, ping],
      policies: [
        ['p1', 'app', 'app-1', 0],
        ['p3', 'app', 'app-1', 1],
        ['p2', 'space', 'space-1', 1],
      ],
    });
    const snapshot = decodeSnapshot(old, sha256(old));
    expect(snapshot).toEqual({
      format: 3,
      version: 5,
      destinations: [db, ping],
      sources: [
        ['app', 'app-1', [0, 1]],
        ['space', 'space-1', [1]],
      ],
      security_groups: { rules: [], bindings: [] },
    });
  });

  it('still reads format 2, without security groups', () => {
    const old = gzipJson({ format: 2, version: 6, destinations: [db], sources: [['app', 'app-1', [0]]] });
    expect(decodeSnapshot(old, sha256(old))).toEqual({
      format: 3,
      version: 6,
      destinations: [db],
      sources: [['app', 'app-1', [0]]],
      security_groups: { rules: [], bindings: [] },
    });
  });

  it('finds, before publishing, what every cell would refuse: a destination stored under older rules', () => {
    expect(() => assertValidSnapshot(buildSnapshot(1, policies))).not.toThrow();
    const anyType = { ...ping, icmp_type: 255 };
    expect(() => assertValidSnapshot(buildSnapshot(2, [policy('p9', 'app', 'app-9', anyType)]))).toThrow(
      'destinations[0].icmp_type: must be between -1 and 254',
    );
  });
});
