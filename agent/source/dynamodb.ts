// Desired state from the policy table: the snapshot pointer on every sync, the snapshot only when
// its version is new to this cell. Read-only, except the cell's own report.
import { ValidationError } from '../../core/domain/errors.js';
import type { ShardKey } from '../../core/domain/shard-keys.js';
import { decodeSnapshot, type PolicySnapshot, SNAPSHOT_FORMAT, sha256 } from '../../core/domain/snapshot.js';
import { EMPTY_GROUPS } from '../../core/domain/snapshot-groups.js';
import type { SnapshotPointer, SnapshotStore } from '../../core/domain/snapshot-store.js';
import type { ShardSource } from '../../core/store/sharded-snapshot-store.js';
import { type AppliedVersion, type DesiredSnapshot, OlderSnapshotError } from './desired-state.js';
import type { ShardMemory } from './shard-memory.js';
import { desiredFromShards } from './shards.js';

export { type AppliedVersion, type DesiredSnapshot, OlderSnapshotError } from './desired-state.js';

/**
 * The part of the snapshot store the agent uses (it never writes); a fake in unit tests, DynamoDB on
 * a cell. With the shard reads, a cell reads only its own sources when the pointer logs shards.
 */
export type SnapshotSource = Pick<SnapshotStore, 'readPointer' | 'readBytes'> & Partial<ShardSource>;

export const EMPTY_SNAPSHOT: PolicySnapshot = {
  format: SNAPSHOT_FORMAT,
  version: 0,
  destinations: [],
  sources: [],
  security_groups: EMPTY_GROUPS,
};

/** Nothing published yet: the empty state, which allows nothing. */
export function emptyDesired(): DesiredSnapshot {
  return {
    version: EMPTY_SNAPSHOT.version,
    snapshot: EMPTY_SNAPSHOT,
    bytes: Buffer.alloc(0),
    sha256: '',
    origin: 'empty',
  };
}

/** The chunks read did not match the pointer's checksum: pruned or replaced while being read. */
const CHUNKS_CHANGED = Symbol('chunks changed');

/**
 * The newest state this cell may apply. Never older than what it applied from the same epoch: if
 * the table's pointer is behind (a stale replica, a republish not yet done after a restore), the
 * cached snapshot of the applied version is kept, and without a usable cache the agent refuses
 * (OlderSnapshotError) rather than go back. A pointer of another epoch is taken as it is.
 * If the chunks fail their checksum (the publisher keeps only the previous snapshot, so one read
 * across two newer publishes loses its chunks), the pointer is read again and the snapshot once more.
 */
export async function desiredSnapshot(
  source: SnapshotSource,
  applied: AppliedVersion | undefined,
  cached: Buffer | undefined,
  hosted?: readonly ShardKey[],
  /** With shards: read every hosted shard again (the periodic repair sync, `--verify full`). */
  rereadShards = false,
  /** With shards: a resident agent's decoded shards (shard-memory.ts). */
  shardMemory?: ShardMemory,
): Promise<DesiredSnapshot> {
  const fromCache = (): DesiredSnapshot | undefined => cachedSnapshot(applied, cached);
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    const pointer = await source.readPointer();
    const { readShards, readChanges } = source;
    if (
      pointer?.shardLog !== undefined &&
      pointer.epoch !== undefined &&
      hosted !== undefined &&
      readShards &&
      readChanges
    ) {
      const shards: ShardSource = { readShards: readShards.bind(source), readChanges: readChanges.bind(source) };
      const withLog = { ...pointer, epoch: pointer.epoch, shardLog: pointer.shardLog };
      const own = applied?.layout === 'shards' ? cached : undefined;
      return desiredFromShards(shards, withLog, applied, own, hosted, rereadShards, shardMemory);
    }
    const result = await resolve(source, pointer, applied, fromCache);
    if (result !== CHUNKS_CHANGED) return result;
  }
  throw new ValidationError(
    'snapshot: checksum mismatch (incomplete or mixed chunks), also after re-reading the pointer',
  );
}

/** The desired snapshot for one pointer, or CHUNKS_CHANGED if its chunks no longer match it. */
async function resolve(
  source: SnapshotSource,
  pointer: SnapshotPointer | undefined,
  applied: AppliedVersion | undefined,
  fromCache: () => DesiredSnapshot | undefined,
): Promise<DesiredSnapshot | typeof CHUNKS_CHANGED> {
  if (!pointer) {
    const kept = fromCache();
    if (kept) return kept;
    refuseOlder(EMPTY_SNAPSHOT.version, applied);
    return emptyDesired();
  }
  // Versions count within one epoch: the state of another one (the table was restored from a backup
  // or recreated, and counts again from its own version) is taken whatever its version.
  const sameEpoch = applied !== undefined && applied.epoch === pointer.epoch ? applied : undefined;
  if (sameEpoch && pointer.version <= sameEpoch.version) {
    const kept = fromCache();
    if (kept) return kept;
    // No usable cache: the same version may be read again (and re-cached), an older one never.
    refuseOlder(pointer.version, sameEpoch);
  }
  // A publish of a few changed sources writes their shards only (sharded-snapshot-store.ts).
  if (pointer.chunks === 0) {
    throw new ValidationError(
      `snapshot: version ${pointer.version} is published as source shards only; this sync has no shards to read them from`,
    );
  }
  const bytes = await source.readBytes(pointer);
  if (sha256(bytes) !== pointer.sha256) return CHUNKS_CHANGED;
  const snapshot = decodeSnapshot(bytes, pointer.sha256);
  // The pointer's version is only a label; the snapshot's own version is what would be applied.
  refuseOlder(snapshot.version, sameEpoch);
  return {
    version: snapshot.version,
    snapshot,
    bytes,
    sha256: pointer.sha256,
    origin: 'table',
    ...(pointer.epoch === undefined ? {} : { epoch: pointer.epoch }),
  };
}

function refuseOlder(offered: number, applied: AppliedVersion | undefined): void {
  if (applied && offered < applied.version) throw new OlderSnapshotError(offered, applied.version);
}

/**
 * The snapshot this cell applied, from its own cache; undefined if missing or not the one recorded.
 * Only its checksum is checked here; it is decoded when first used (the bytes are those the cell
 * decoded when it applied them, so the version is the recorded one).
 */
export function cachedSnapshot(
  applied: AppliedVersion | undefined,
  cached: Buffer | undefined,
): DesiredSnapshot | undefined {
  if (!applied || !cached || applied.layout === 'shards' || sha256(cached) !== applied.sha256) return undefined;
  let decoded: PolicySnapshot | undefined;
  return {
    version: applied.version,
    get snapshot() {
      decoded ??= decodeSnapshot(cached, applied.sha256);
      return decoded;
    },
    bytes: cached,
    sha256: applied.sha256,
    origin: 'cache',
    ...(applied.epoch === undefined ? {} : { epoch: applied.epoch }),
  };
}
