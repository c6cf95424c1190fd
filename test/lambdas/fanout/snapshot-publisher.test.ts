// The publisher refuses to publish a snapshot the cells would refuse, and writes nothing; it
// publishes again when the pointer is of another epoch (a restored or recreated table).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/domain/errors.js';
import { buildSnapshot, encodeSnapshot } from '../../../core/domain/snapshot.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import { type PolicySource, publishSnapshot } from '../../../lambdas/fanout/snapshot-publisher.js';
import { InMemorySnapshotStore } from '../../helpers/in-memory-snapshot-store.js';

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
    const policies: PolicySource = {
      currentVersion: async () => 4,
      listEgressPolicies: async () => [anyIcmpType],
      listSecurityGroups: async () => [],
    };
    const snapshots = new InMemorySnapshotStore();
    const failure = await publishSnapshot(policies, snapshots).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ValidationError);
    expect(String(failure)).toContain('destinations[0].icmp_type: must be between -1 and 254');
    expect(snapshots.writes).toEqual([]);
    expect(await snapshots.readPointer()).toBeUndefined();
  });

  it('never moves the pointer back when another publisher wrote a newer snapshot during its list', async () => {
    const snapshots = new InMemorySnapshotStore();
    const policies: PolicySource = {
      currentVersion: async () => 4,
      listEgressPolicies: async () => {
        // Another fan-out, woken by a later write, publishes version 5 meanwhile.
        await snapshots.write(encodeSnapshot(buildSnapshot(5, [])));
        return [];
      },
      listSecurityGroups: async () => [],
    };
    expect(await publishSnapshot(policies, snapshots)).toEqual({ version: 4, written: false, how: 'whole' });
    expect(snapshots.writes.map((snapshot) => snapshot.version)).toEqual([5, 4]);
    expect((await snapshots.readPointer())?.version).toBe(5);
  });

  it.each([
    ['as new as', 4],
    ['older than', 2],
  ])('publishes again when the pointer is of another epoch and %s the table’s version', async (_case, version) => {
    const snapshots = new InMemorySnapshotStore();
    const policies: PolicySource = {
      currentVersion: async () => 4,
      listEgressPolicies: async () => [],
      listSecurityGroups: async () => [],
    };
    expect(await publishSnapshot(policies, snapshots)).toEqual({ version: 4, written: true, how: 'whole' });
    expect(await publishSnapshot(policies, snapshots)).toEqual({ version: 4, written: false, how: 'none' });

    snapshots.tableEpoch = 'restored-table';
    const restored: PolicySource = {
      currentVersion: async () => version,
      listEgressPolicies: async () => [],
      listSecurityGroups: async () => [],
    };
    expect(await publishSnapshot(restored, snapshots)).toEqual({ version, written: true, how: 'whole' });
    expect(await snapshots.readPointer()).toMatchObject({ version, epoch: 'restored-table' });
    expect(await publishSnapshot(restored, snapshots)).toEqual({ version, written: false, how: 'none' });
  });
});
