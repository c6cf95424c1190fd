// Desired state from the policy table: the snapshot pointer on every sync, the snapshot only when
// its version is new to this cell. Read-only, except the cell's own report.
import { decodeSnapshot, type PolicySnapshot } from '../../lambdas/domain/snapshot.js';
import type { SnapshotPointer } from '../../lambdas/store/snapshot-store.js';

/** The part of the snapshot store the agent uses; a fake in unit tests, DynamoDB on a cell. */
export interface SnapshotSource {
  readPointer(): Promise<SnapshotPointer | undefined>;
  readBytes(pointer: SnapshotPointer): Promise<Buffer>;
}

export interface DesiredSnapshot {
  readonly snapshot: PolicySnapshot;
  readonly bytes: Buffer;
  readonly sha256: string;
  /** Where it came from: 'table' (read now), 'cache' (unchanged version) or 'empty' (nothing published yet). */
  readonly origin: 'table' | 'cache' | 'empty';
}

export const EMPTY_SNAPSHOT: PolicySnapshot = { format: 1, version: 0, destinations: [], policies: [] };

/**
 * The newest state this cell may apply. Never older than what it applied: if the table's pointer is
 * behind (a restored backup, a stale replica), the cached snapshot of the applied version is kept.
 */
export async function desiredSnapshot(
  source: SnapshotSource,
  applied: { version: number; sha256: string } | undefined,
  cached: Buffer | undefined,
): Promise<DesiredSnapshot> {
  const fromCache = (): DesiredSnapshot | undefined => {
    if (!applied || !cached) return undefined;
    try {
      return {
        snapshot: decodeSnapshot(cached, applied.sha256),
        bytes: cached,
        sha256: applied.sha256,
        origin: 'cache',
      };
    } catch {
      return undefined;
    }
  };
  const pointer = await source.readPointer();
  if (!pointer) {
    return fromCache() ?? { snapshot: EMPTY_SNAPSHOT, bytes: Buffer.alloc(0), sha256: '', origin: 'empty' };
  }
  if (applied && pointer.version <= applied.version) {
    const kept = fromCache();
    if (kept) return kept;
  }
  const bytes = await source.readBytes(pointer);
  return { snapshot: decodeSnapshot(bytes, pointer.sha256), bytes, sha256: pointer.sha256, origin: 'table' };
}
