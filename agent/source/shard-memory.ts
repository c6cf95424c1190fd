// What a resident agent (`agent serve`, local mode's in-process cells) keeps of the shards it decoded:
// each shard's decoded content and its destinations' merge keys, by the checksum of its stored bytes.
// A change to one app rewrites one shard; the next sync then decodes that one and takes the rest
// from here, instead of unzipping, parsing and checking every shard the cell hosts again. The same
// bytes always decode to the same content, so what a sync applies does not depend on this memory.
import type { PolicySnapshot } from '../../core/domain/snapshot.js';
import { destinationKeys } from '../../core/domain/source-shards.js';

export class ShardMemory {
  private kept = new Map<string, PolicySnapshot>();
  private readonly keys = new WeakMap<PolicySnapshot, readonly string[]>();

  /**
   * The shards, decoded: kept ones by checksum, the others by `decode`. What this call used is what
   * is kept afterwards (shards no longer hosted or rewritten are let go); if a decode throws, the
   * memory is left as it was.
   */
  decodeAll(shards: readonly { readonly sha256: string; readonly decode: () => PolicySnapshot }[]): PolicySnapshot[] {
    const next = new Map<string, PolicySnapshot>();
    const decoded = shards.map(({ sha256, decode }) => {
      const shard = next.get(sha256) ?? this.kept.get(sha256) ?? decode();
      next.set(sha256, shard);
      return shard;
    });
    this.kept = next;
    return decoded;
  }

  /** mergeShards' keys of a shard, worked out once per decoded shard. */
  readonly keysOf = (shard: PolicySnapshot): readonly string[] => {
    let keys = this.keys.get(shard);
    if (keys === undefined) {
      keys = destinationKeys(shard);
      this.keys.set(shard, keys);
    }
    return keys;
  };
}
