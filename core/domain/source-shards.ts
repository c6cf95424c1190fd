// Desired state cut by source, so that a cell reads only what applies to the containers it hosts.
// A shard is a snapshot (snapshot.ts) holding one source's part: an app's or a space's egress
// policies with the destinations they use, and the security-group bindings of that app, space,
// organisation, or of everyone (`global`). Cells merge the shards of their own sources back into one
// snapshot and plan from it as from the whole one: a container's rules depend on its app, space,
// organisation and lifecycle only, so the plan for the cell is the same.
import { type ShardKey, shardKeyOfBinding, shardKeyOfSource } from './shard-keys.js';
import { type PolicySnapshot, SNAPSHOT_FORMAT } from './snapshot.js';
import { type GroupBinding, mergeSecurityGroupsSections } from './snapshot-groups.js';
import type { Destination } from './types.js';

/** Collects one shard: destinations and rules re-indexed to its own lists. */
class ShardBuilder {
  readonly destinations: Destination[] = [];
  private readonly destinationIndex = new Map<number, number>();
  readonly sources: PolicySnapshot['sources'] = [];
  readonly rules: PolicySnapshot['security_groups']['rules'][number][] = [];
  private readonly ruleIndex = new Map<number, number>();
  readonly bindings: GroupBinding[] = [];

  constructor(private readonly whole: PolicySnapshot) {}

  source([type, id, indexes]: PolicySnapshot['sources'][number]): void {
    this.sources.push([type, id, indexes.map((index) => this.destination(index))]);
  }

  /**
   * A binding's rules in content order, not by their index in the whole snapshot: that index depends
   * on every other source's rules, and a shard rebuilt from its own sources (shard-updates.ts) must
   * come out the same.
   */
  binding([scope, lifecycle, target, indexes]: GroupBinding): void {
    const rules = this.whole.security_groups.rules;
    const ordered = indexes
      .map((index) => ({ index, text: JSON.stringify(at(rules, index)) }))
      .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    this.bindings.push([scope, lifecycle, target, ordered.map(({ index }) => this.rule(index))]);
  }

  shard(): PolicySnapshot {
    return {
      format: SNAPSHOT_FORMAT,
      version: this.whole.version,
      destinations: this.destinations,
      sources: this.sources,
      security_groups: { rules: this.rules, bindings: this.bindings },
    };
  }

  private destination(index: number): number {
    return remember(this.destinationIndex, index, () => this.destinations.push(at(this.whole.destinations, index)) - 1);
  }

  private rule(index: number): number {
    return remember(this.ruleIndex, index, () => this.rules.push(at(this.whole.security_groups.rules, index)) - 1);
  }
}

/** What `map` holds for `key`, or what `add` gives (then remembered). */
function remember<K, V>(map: Map<K, V>, key: K, add: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = add();
    map.set(key, value);
  }
  return value;
}

function at<T>(list: readonly T[], index: number): T {
  const item = list[index];
  if (item === undefined) throw new RangeError(`snapshot: index ${index} points past a list of ${list.length}`);
  return item;
}

/** The snapshot cut into one shard per source that has anything (each at the snapshot's version). */
export function splitSnapshot(snapshot: PolicySnapshot): Map<ShardKey, PolicySnapshot> {
  const builders = new Map<ShardKey, ShardBuilder>();
  const builderOf = (key: ShardKey): ShardBuilder => remember(builders, key, () => new ShardBuilder(snapshot));
  for (const entry of snapshot.sources) builderOf(shardKeyOfSource(entry[0], entry[1])).source(entry);
  for (const binding of snapshot.security_groups.bindings) {
    builderOf(shardKeyOfBinding(binding[0], binding[2])).binding(binding);
  }
  return new Map([...builders].map(([key, builder]) => [key, builder.shard()]));
}

/** A shard's content without its version: two shards with equal content enforce the same. */
export function shardContent(shard: PolicySnapshot): string {
  return JSON.stringify([shard.destinations, shard.sources, shard.security_groups]);
}

/**
 * The keys whose shard differs between two states (added, removed or changed), sorted. Content, not
 * versions, is compared: an unchanged source is not read again by the cells that host it.
 */
export function changedShardKeys(
  before: ReadonlyMap<ShardKey, PolicySnapshot>,
  after: ReadonlyMap<ShardKey, PolicySnapshot>,
): ShardKey[] {
  const changed = new Set<ShardKey>();
  for (const [key, shard] of after) {
    const old = before.get(key);
    if (old === undefined || shardContent(old) !== shardContent(shard)) changed.add(key);
  }
  for (const key of before.keys()) if (!after.has(key)) changed.add(key);
  return [...changed].sort();
}

/**
 * What mergeShards tells a shard's destinations apart by: their content. A resident agent keeps
 * them with the shard (agent/source/shard-memory.ts) rather than stringify every destination again.
 */
export function destinationKeys(shard: PolicySnapshot): string[] {
  return shard.destinations.map((destination) => JSON.stringify(destination));
}

/**
 * One snapshot of `version` holding every shard given: destinations and rules that several shards
 * carry are kept once (by content), bindings merged. Sources and bindings are each in exactly one
 * shard, so nothing else can collide.
 */
export function mergeShards(
  version: number,
  shards: Iterable<PolicySnapshot>,
  keysOf: (shard: PolicySnapshot) => readonly string[] = destinationKeys,
): PolicySnapshot {
  const destinations: Destination[] = [];
  const indexByDestination = new Map<string, number>();
  const sources: PolicySnapshot['sources'] = [];
  const sections: PolicySnapshot['security_groups'][] = [];
  for (const shard of shards) {
    const keys = keysOf(shard);
    const indexes = shard.destinations.map((destination, index) =>
      remember(
        indexByDestination,
        keys[index] ?? JSON.stringify(destination),
        () => destinations.push(destination) - 1,
      ),
    );
    for (const [type, id, pointers] of shard.sources) {
      sources.push([type, id, pointers.map((index) => at(indexes, index))]);
    }
    sections.push(shard.security_groups);
  }
  return {
    format: SNAPSHOT_FORMAT,
    version,
    destinations,
    sources,
    security_groups: mergeSecurityGroupsSections(sections),
  };
}
