// Builds the snapshot of the current policies and stores it, unless a newer one is already there.

import type { SecurityGroup, SecurityGroupStore } from '../../core/domain/security-group.js';
import { assertValidSnapshot, buildSnapshot, encodeSnapshot } from '../../core/domain/snapshot.js';
import type { SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { PolicyStore } from '../../core/domain/store.js';
import type { EgressPolicy } from '../../core/domain/types.js';

const MAX_ATTEMPTS = 5;

/** What publishing reads: the version, the egress policies and the security groups. */
export type PolicySource = Pick<PolicyStore, 'currentVersion' | 'listEgressPolicies'> &
  Pick<SecurityGroupStore, 'listSecurityGroups'>;

/** The published state of a table's stores: both collections share one version record. */
export function publishedStateOf(stores: {
  readonly policies: Pick<PolicyStore, 'currentVersion' | 'listEgressPolicies'>;
  readonly securityGroups: Pick<SecurityGroupStore, 'listSecurityGroups'>;
}): PolicySource {
  return {
    currentVersion: () => stores.policies.currentVersion(),
    listEgressPolicies: () => stores.policies.listEgressPolicies(),
    listSecurityGroups: () => stores.securityGroups.listSecurityGroups(),
  };
}

export interface PublishOptions {
  /**
   * Run as soon as cells can read the snapshot this call publishes (not when it publishes none),
   * before the store's clean-up is done: telling the cells here saves them that wait.
   */
  readonly published?: (version: number) => Promise<unknown>;
}

export interface PublishResult {
  /** The version now current for cells. */
  readonly version: number;
  /** False when a snapshot of this version or a newer one was already published. */
  readonly written: boolean;
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
  snapshots: SnapshotStore,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const epoch = await snapshots.epoch();
  for (let attempt = 1; ; attempt += 1) {
    // Together: either order gives a check that holds (a pointer read late can only be newer).
    const [pointer, before] = await Promise.all([snapshots.readPointer(), policies.currentVersion()]);
    // A pointer of another epoch was published from another table (this one restored from a backup
    // of it, or recreated): cells must be given this table's state whatever the versions say.
    if (pointer && pointer.epoch === epoch && pointer.version >= before)
      return { version: pointer.version, written: false };
    const [list, groups] = await Promise.all([policies.listEgressPolicies(), policies.listSecurityGroups()]);
    const after = await policies.currentVersion();
    if (before !== after && attempt < MAX_ATTEMPTS) continue;
    return publishUnderVersion(snapshots, before, list, groups, options);
  }
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
): Promise<PublishResult> {
  const snapshot = buildSnapshot(version, list, groups);
  // Cells validate every snapshot and refuse a bad one whole; refusing it here instead makes the
  // failure visible (FanoutErrors) rather than silent on every cell. Nothing is written.
  assertValidSnapshot(snapshot);
  const { published } = options;
  const written = await snapshots.write(
    encodeSnapshot(snapshot),
    published === undefined ? {} : { afterPointer: () => published(version) },
  );
  return { version, written };
}
