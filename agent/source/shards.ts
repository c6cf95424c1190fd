// Desired state from the source shards of what this cell hosts (core/domain/source-shards.ts):
// after a change, the change entries since the applied version say which shards changed, and only
// the hosted ones among them are read. A cell too far behind (or with no usable copy, or in another
// epoch) reads all of its shards. The cell keeps the shards it applied (its cache) and never goes
// back, as with whole snapshots (dynamodb.ts).
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import type { ShardKey } from '../../core/domain/shard-keys.js';
import { decodeSnapshot, sha256 } from '../../core/domain/snapshot.js';
import type { SnapshotPointer } from '../../core/domain/snapshot-store.js';
import { mergeShards } from '../../core/domain/source-shards.js';
import type { StoredShard } from '../../core/store/shard-items.js';
import type { ShardSource } from '../../core/store/sharded-snapshot-store.js';
import { type AppliedVersion, type DesiredSnapshot, OlderSnapshotError } from './desired-state.js';
import type { ShardMemory } from './shard-memory.js';

/**
 * The shards a cell applied, as it keeps them: each hosted key with its shard as stored (gzip'd), or
 * `null` when it has none (an app without policies), so that it is not asked for again.
 */
interface CellShards {
  readonly version: number;
  readonly epoch: string;
  readonly shards: ReadonlyMap<ShardKey, Buffer | null>;
}

const cacheSchema = z.object({
  cell_shards: z.literal(1),
  version: z.number().check(z.int(), z.gte(0)),
  epoch: z.string(),
  shards: z.record(z.string(), z.nullable(z.string())),
});

export function encodeCellShards(cell: CellShards): Buffer {
  const shards = Object.fromEntries([...cell.shards].map(([key, bytes]) => [key, bytes?.toString('base64') ?? null]));
  // The shards inside are compressed already: the fastest level (measured: 18 ms of a resident
  // agent's 200 ms one-change sync at the default level) loses next to nothing in size.
  return gzipSync(JSON.stringify({ cell_shards: 1, version: cell.version, epoch: cell.epoch, shards }), { level: 1 });
}

/** The cache as the cell wrote it, or undefined when it is not one (a whole snapshot, damage). */
function decodeCellShards(bytes: Buffer): CellShards | undefined {
  try {
    const parsed = z.safeParse(cacheSchema, JSON.parse(gunzipSync(bytes).toString('utf8')));
    if (!parsed.success) return undefined;
    const shards = new Map(
      Object.entries(parsed.data.shards).map(([key, text]) => [
        key,
        text === null ? null : Buffer.from(text, 'base64'),
      ]),
    );
    return { version: parsed.data.version, epoch: parsed.data.epoch, shards };
  } catch {
    return undefined;
  }
}

/**
 * The desired state for `hosted` under a pointer that logs shards. `cached` is the cell's own copy
 * of what it applied (any other bytes are ignored); `applied` what it recorded. `rereadAll` (the
 * periodic repair sync) reads every hosted shard again whatever the log says. `memory`: a resident
 * agent's decoded shards.
 */
export async function desiredFromShards(
  source: ShardSource,
  pointer: SnapshotPointer & { readonly epoch: string; readonly shardLog: readonly number[] },
  applied: AppliedVersion | undefined,
  cachedBytes: Buffer | undefined,
  hosted: readonly ShardKey[],
  rereadAll = false,
  memory?: ShardMemory,
): Promise<DesiredSnapshot> {
  const cache =
    applied !== undefined && cachedBytes !== undefined && sha256(cachedBytes) === applied.sha256
      ? decodeCellShards(cachedBytes)
      : undefined;
  const sameEpoch = applied !== undefined && applied.epoch === pointer.epoch ? applied : undefined;
  const usable = cache !== undefined && sameEpoch !== undefined && cache.epoch === pointer.epoch ? cache : undefined;
  let version = pointer.version;
  let changed: ReadonlySet<ShardKey> | 'all' = 'all';
  let readFromTable = false;
  if (sameEpoch !== undefined && pointer.version <= sameEpoch.version) {
    // Nothing newer (or a pointer behind what this cell applied): keep the applied state.
    if (usable === undefined) {
      if (pointer.version < sameEpoch.version) throw new OlderSnapshotError(pointer.version, sameEpoch.version);
    } else {
      version = usable.version;
      changed = new Set();
    }
  } else if (usable !== undefined && sameEpoch !== undefined && pointer.shardLog.includes(sameEpoch.version)) {
    const versions = pointer.shardLog.filter((logged) => logged > sameEpoch.version);
    // The pointer carries its own publish's keys when they are few: only older entries are read.
    const inline = pointer.latestChanges;
    const toFetch = inline === undefined ? versions : versions.filter((logged) => logged !== pointer.version);
    const entries = new Map(toFetch.length === 0 ? [] : await source.readChanges(toFetch));
    if (inline !== undefined)
      entries.set(pointer.version, { version: pointer.version, epoch: pointer.epoch, keys: inline });
    readFromTable = toFetch.length > 0;
    changed = changesSince(versions, entries, pointer.epoch);
  }
  if (rereadAll) changed = 'all';
  const base = changed === 'all' || usable === undefined ? new Map<ShardKey, Buffer | null>() : usable.shards;
  const toRead = hosted.filter((key) => changed === 'all' || changed.has(key) || !base.has(key));
  const read = toRead.length === 0 ? new Map<ShardKey, StoredShard>() : await source.readShards(toRead);
  const reading = new Set(toRead);
  const shards = new Map<ShardKey, Buffer | null>();
  for (const key of hosted) {
    if (!reading.has(key)) {
      shards.set(key, base.get(key) ?? null);
      continue;
    }
    const stored = read.get(key);
    // A shard of another epoch is a leftover the new epoch's first publish did not rewrite: empty.
    shards.set(key, stored !== undefined && stored.epoch === pointer.epoch ? stored.bytes : null);
  }
  const cell = { version, epoch: pointer.epoch, shards };
  const origin = readFromTable || toRead.length > 0 ? 'table' : 'cache';
  // Nothing read and the same sources at the same version: the cell's copy is what it would write.
  const unchanged =
    usable !== undefined &&
    cachedBytes !== undefined &&
    applied !== undefined &&
    toRead.length === 0 &&
    version === usable.version &&
    shards.size === usable.shards.size;
  return desiredOf(cell, origin, unchanged ? { bytes: cachedBytes, sha256: applied.sha256 } : undefined, memory);
}

/**
 * The hosted sources' shards from the cell's own copy alone, without the table (`sync --from-cache`):
 * a source the copy lacks (an app new to the cell) is left out, so it is allowed nothing, and the
 * copy recorded after it does not list it either, so the next table sync reads its shard (a `null`
 * would say "no policies, do not ask again"). Undefined when the copy is missing, is not the one
 * recorded, or is not a cell's shards.
 */
export function desiredFromCachedShards(
  applied: AppliedVersion | undefined,
  cachedBytes: Buffer | undefined,
  hosted: readonly ShardKey[],
): DesiredSnapshot | undefined {
  if (applied === undefined || cachedBytes === undefined || sha256(cachedBytes) !== applied.sha256) return undefined;
  const cache = decodeCellShards(cachedBytes);
  if (cache === undefined) return undefined;
  const shards = new Map<ShardKey, Buffer | null>();
  for (const key of hosted) {
    const shard = cache.shards.get(key);
    if (shard !== undefined) shards.set(key, shard);
  }
  // Every source of the copy still hosted: what would be recorded is the copy itself.
  const kept = shards.size === cache.shards.size ? { bytes: cachedBytes, sha256: applied.sha256 } : undefined;
  return desiredOf({ version: cache.version, epoch: cache.epoch, shards }, 'cache', kept);
}

/** The keys the entries name, or `all` when one is missing, of another epoch, or says `all`. */
function changesSince(
  versions: readonly number[],
  entries: ReadonlyMap<number, { readonly epoch: string; readonly keys: readonly ShardKey[] | 'all' }>,
  epoch: string,
): ReadonlySet<ShardKey> | 'all' {
  const keys = new Set<ShardKey>();
  for (const version of versions) {
    const entry = entries.get(version);
    if (entry === undefined || entry.epoch !== epoch || entry.keys === 'all') return 'all';
    for (const key of entry.keys) keys.add(key);
  }
  return keys;
}

/**
 * `kept`: the cell's own copy when it holds exactly `cell` (no need to encode and hash it again).
 * `memory`: a resident agent's decoded shards (shard-memory.ts).
 */
function desiredOf(
  cell: CellShards,
  origin: 'table' | 'cache',
  kept?: { readonly bytes: Buffer; readonly sha256: string },
  memory?: ShardMemory,
): DesiredSnapshot {
  const bytes = kept?.bytes ?? encodeCellShards(cell);
  const sorted = [...cell.shards]
    .flatMap(([key, shard]) => (shard === null ? [] : [[key, shard] as const]))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // The kernel's record compares what the shards hold, not the version: a change elsewhere in
  // the fleet leaves this digest, and so the rules in force, alone.
  const shas = sorted.map(([, shard]) => sha256(shard));
  const digest = sha256(Buffer.from(JSON.stringify(sorted.map(([key], index) => [key, shas[index]]))));
  let merged: DesiredSnapshot['snapshot'] | undefined;
  const merge = (): DesiredSnapshot['snapshot'] => {
    if (memory === undefined)
      return mergeShards(
        cell.version,
        sorted.map(([key, shard]) => decodeShard(key, shard)),
      );
    const decoded = memory.decodeAll(
      sorted.map(([key, shard], index) => ({ sha256: shas[index] ?? '', decode: () => decodeShard(key, shard) })),
    );
    return mergeShards(cell.version, decoded, memory.keysOf);
  };
  return {
    version: cell.version,
    get snapshot() {
      merged ??= merge();
      return merged;
    },
    bytes,
    sha256: kept?.sha256 ?? sha256(bytes),
    origin,
    epoch: cell.epoch,
    layout: 'shards',
    digest: `shards ${digest}`,
  };
}

function decodeShard(key: ShardKey, bytes: Buffer) {
  try {
    return decodeSnapshot(bytes, sha256(bytes));
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`shard ${key}: ${error.message}`);
    throw error;
  }
}
