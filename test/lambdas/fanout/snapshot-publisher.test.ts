// The publisher refuses to publish a snapshot the cells would refuse, and writes nothing.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/domain/errors.js';
import type { PolicyStore } from '../../../core/domain/store.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import type { DynamoDbSnapshotStore } from '../../../core/store/snapshot-store.js';
import { publishSnapshot } from '../../../lambdas/fanout/snapshot-publisher.js';

const anyIcmpType: EgressPolicy = {
  id: 'p-1',
  source: { type: 'app', id: 'app-1' },
  // Accepted by the API before type 255 (iptables' "any type") was refused.
  destination: {
    id: 'd-1',
    name: 'old',
    ips: [{ start: '192.0.2.1', end: '192.0.2.1' }],
    ports: [],
    protocol: 'icmp',
    icmp_type: 255,
    icmp_code: -1,
  },
};

describe('publishSnapshot', () => {
  it('throws the validation error and writes nothing for a snapshot cells would refuse', async () => {
    const policies = {
      currentVersion: async () => 4,
      listEgressPolicies: async () => [anyIcmpType],
    } as Pick<PolicyStore, 'currentVersion' | 'listEgressPolicies'> as PolicyStore;
    const writes: unknown[] = [];
    const snapshots = {
      readPointer: async () => undefined,
      write: async (snapshot: unknown) => {
        writes.push(snapshot);
        return true;
      },
    } as Pick<DynamoDbSnapshotStore, 'readPointer' | 'write'> as DynamoDbSnapshotStore;
    const failure = await publishSnapshot(policies, snapshots).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ValidationError);
    expect(String(failure)).toContain('destinations[0].icmp_type: must be between -1 and 254');
    expect(writes).toEqual([]);
  });
});
