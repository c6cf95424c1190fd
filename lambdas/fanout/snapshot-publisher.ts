// Builds the snapshot of the current policies and stores it, unless a newer one is already there.

import type { SecurityGroup, SecurityGroupStore } from '../../core/domain/security-group.js';
import { policyListsOf } from '../../core/domain/shard-updates.js';
import { assertValidSnapshot, buildSnapshot, encodeSnapshot } from '../../core/domain/snapshot.js';
import type { ChangePublisher, SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { PolicyStore } from '../../core/domain/store.js';
import type { Destination, EgressPolicy } from '../../core/domain/types.js';
import type { VersionChanges } from '../../core/domain/version-changes.js';

const MAX_ATTEMPTS = 5;

/**
 * What publishing reads: the version, the egress policies and the security groups, and for a
 * publish of described changes the destinations by id (consistent reads).
 */
export type PolicySource = Pick<PolicyStore, 'currentVersion' | 'listEgressPolicies'> &
  Pick<SecurityGroupStore, 'listSecurityGroups'> & {
    readonly readDestinations?: (ids: readonly string[]) => Promise<Destination[]>;
  };

/** The published state of a table's stores: both collections share one version record. */
export function publishedStateOf(stores: {
  readonly policies: Pick<PolicyStore, 'currentVersion' | 'listEgressPolicies' | 'listDestinations'>;
  readonly securityGroups: Pick<SecurityGroupStore, 'listSecurityGroups'>;
}): PolicySource {
  return {
    currentVersion: () => stores.policies.currentVersion(),
    listEgressPolicies: () => stores.policies.listEgressPolicies(),
    listSecurityGroups: () => stores.securityGroups.listSecurityGroups(),
    readDestinations: (ids) => stores.policies.listDestinations({ ids }),
  };
}

export interface PublishOptions {
  /**
   * Run as soon as cells can read the snapshot this call publishes (not when it publishes none),
   * before the store's clean-up is done: telling the cells here saves them that wait.
   */
  readonly published?: (version: number) => Promise<unknown>;
  /**
   * The descriptions of the stream batch's versions (version-changes.ts). With a store that can
   * publish them (ChangePublisher) and a source that reads destinations, only the shards they touch
   * are rewritten; without, or when the store cannot (a gap, an undescribed version), the whole
   * state is read and published.
   */
  readonly changes?: ReadonlyMap<number, VersionChanges | undefined>;
}

export interface PublishResult {
  /** The version now current for cells. */
  readonly version: number;
  /** False when a snapshot of this version or a newer one was already published. */
  readonly written: boolean;
  /**
   * How the state was read: only the shards the batch's changes touched, the whole state, or not at
   * all (a snapshot this new was already out).
   */
  readonly how: 'changes' | 'whole' | 'none';
  /** Why the whole state was read although the batch described its changes. */
  readonly whyWhole?: string;
}

/**
 * Publishes the snapshot of the current version unless one that new, of this table's epoch, is
 * already out: a repeated or late batch, and a periodic sync with nothing new, cost two small reads
 * (and one DescribeTable per store), not a policy list.
 * The lists (policies and security groups) are read between two reads of the version; when both agree no write landed in between,
 * so the list is exactly the state of that version. When writes keep landing, the last attempt's
 * list is published under the version read before it (see `publishUnderVersion`).
 */
export async function publishSnapshot(
  policies: PolicySource,
  snapshots: SnapshotStore & Partial<ChangePublisher>,
  options: PublishOptions = {},
): Promise<PublishResult> {
  // Described changes first: that path reads the pointer itself and nothing of the whole state.
  const described = await publishDescribed(policies, snapshots, options);
  if (described !== undefined && !('full' in described)) {
    return { ...described, how: described.written ? 'changes' : 'none' };
  }
  const whyWhole = described?.full;
  const epoch = await snapshots.epoch();
  for (let attempt = 1; ; attempt += 1) {
    // Together: either order gives a check that holds (a pointer read late can only be newer).
    const [pointer, before] = await Promise.all([snapshots.readPointer(), policies.currentVersion()]);
    // A pointer of another epoch was published from another table (this one restored from a backup
    // of it, or recreated): cells must be given this table's state whatever the versions say.
    if (pointer && pointer.epoch === epoch && pointer.version >= before)
      return { version: pointer.version, written: false, how: 'none' };
    const [list, groups] = await Promise.all([policies.listEgressPolicies(), policies.listSecurityGroups()]);
    const after = await policies.currentVersion();
    if (before !== after && attempt < MAX_ATTEMPTS) continue;
    const result = await publishUnderVersion(snapshots, before, list, groups, options);
    return { ...result, how: 'whole', ...(whyWhole === undefined ? {} : { whyWhole }) };
  }
}

/** The batch's described changes published by the store, or undefined when it cannot be asked. */
async function publishDescribed(
  policies: PolicySource,
  snapshots: SnapshotStore & Partial<ChangePublisher>,
  options: PublishOptions,
): Promise<Awaited<ReturnType<ChangePublisher['publishChanges']>> | undefined> {
  const { changes, published } = options;
  const { readDestinations } = policies;
  if (changes === undefined || changes.size === 0 || snapshots.publishChanges === undefined || !readDestinations) {
    return undefined;
  }
  return snapshots.publishChanges({
    changes,
    read: { destinations: readDestinations, securityGroups: () => policies.listSecurityGroups() },
    ...(published === undefined ? {} : { afterPointer: published }),
  });
}

/**
 * Stores `list` as the snapshot of `version`. When writes landed during the list, it holds every
 * change up to `version` and maybe some later ones; labelling it `version` is still safe, because
 * each later write has its own stream record and the batch carrying it publishes a newer snapshot.
 * Giving up instead would leave cells without any snapshot for as long as writes keep coming.
 * The store only moves the pointer forward within an epoch, so a concurrent newer snapshot is never
 * replaced.
 */
async function publishUnderVersion(
  snapshots: SnapshotStore,
  version: number,
  list: readonly EgressPolicy[],
  groups: readonly SecurityGroup[],
  options: PublishOptions,
): Promise<{ readonly version: number; readonly written: boolean }> {
  const snapshot = buildSnapshot(version, list, groups);
  // Cells validate every snapshot and refuse a bad one whole; refusing it here instead makes the
  // failure visible (FanoutErrors) rather than silent on every cell. Nothing is written.
  assertValidSnapshot(snapshot);
  const { published } = options;
  const written = await snapshots.write(encodeSnapshot(snapshot), {
    policyLists: policyListsOf(list),
    ...(published === undefined ? {} : { afterPointer: () => published(version) }),
  });
  return { version, written };
}
