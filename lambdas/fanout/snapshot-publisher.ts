// Builds the snapshot of the current policies and stores it, unless a newer one is already there.
import { ContentionError } from '../domain/errors.js';
import { buildSnapshot, encodeSnapshot } from '../domain/snapshot.js';
import type { PolicyStore } from '../domain/store.js';
import type { DynamoDbSnapshotStore } from '../store/snapshot-store.js';

const MAX_ATTEMPTS = 5;

export interface PublishResult {
  /** The version now current for cells. */
  readonly version: number;
  /** False when a snapshot of this version or a newer one was already published. */
  readonly written: boolean;
}

/**
 * Publishes the snapshot of the current version unless one that new is already out: a repeated or
 * late batch, and a periodic sync with nothing new, cost two small reads, not a policy list.
 * The list is read between two reads of the version; only when both agree did no write land in
 * between, so the list is exactly the state of that version.
 */
export async function publishSnapshot(policies: PolicyStore, snapshots: DynamoDbSnapshotStore): Promise<PublishResult> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const pointer = await snapshots.readPointer();
    const before = await policies.currentVersion();
    if (pointer && pointer.version >= before) return { version: pointer.version, written: false };
    const list = await policies.listEgressPolicies();
    const after = await policies.currentVersion();
    if (before !== after) continue;
    const written = await snapshots.write(encodeSnapshot(buildSnapshot(before, list)));
    return { version: before, written };
  }
  throw new ContentionError(`policies kept changing while the snapshot was read (${MAX_ATTEMPTS} attempts)`);
}
