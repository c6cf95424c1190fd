// Desired state from the cell's own copy of what it last applied, without the table: what
// `agent sync --from-cache` applies when the cell boots, before its network (and so the table) can
// be reached. A kernel starts empty, and a container with no rules over it could reach everything;
// the copy closes the overlay again at once, allowing what the cell allowed before. Without a usable
// copy (missing, damaged, or one this build refuses) the empty state is applied: the overlay
// closed, nothing allowed (fail closed).
import type { ShardKey } from '../../core/domain/shard-keys.js';
import type { AppliedVersion, DesiredSnapshot } from './desired-state.js';
import { cachedSnapshot, emptyDesired } from './dynamodb.js';
import { desiredFromCachedShards } from './shards.js';

/** Stands for the table where a snapshot source is asked for: the cell's own copy only. */
export const CACHE_ONLY = 'cache-only';

export function desiredFromCache(
  applied: AppliedVersion | undefined,
  cached: Buffer | undefined,
  hosted: readonly ShardKey[],
): DesiredSnapshot {
  const kept =
    applied?.layout === 'shards' ? desiredFromCachedShards(applied, cached, hosted) : cachedSnapshot(applied, cached);
  if (kept === undefined) return emptyDesired();
  try {
    // Decoded now: a copy this build refuses must close the overlay too, not fail the boot sync.
    void kept.snapshot;
    return kept;
  } catch {
    return emptyDesired();
  }
}
