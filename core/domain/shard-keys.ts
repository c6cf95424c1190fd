// The keys of source shards (source-shards.ts): which shard an app, space, organisation or global
// binding lives in, and which shards a cell's containers use. Apart from the shards themselves so that
// readers of keys alone (cell reports, the API's cell list) do not load the snapshot code.
import type { BindingScope } from './snapshot-groups.js';

/** `global`, or `<kind>:<id>` with kind app, space or organization. */
export type ShardKey = string;

export const GLOBAL_SHARD: ShardKey = 'global';

export function shardKeyOfBinding(scope: BindingScope, target: string): ShardKey {
  return scope === 'global' ? GLOBAL_SHARD : `${scope}:${target}`;
}

export function shardKeyOfSource(type: 'app' | 'space', id: string): ShardKey {
  return `${type}:${id}`;
}

/** What a container's rules are computed from: the keys of every shard that may apply to it. */
export interface HostedSource {
  readonly appId: string;
  readonly spaceId: string;
  readonly orgId?: string;
}

/** The shards a cell hosting these containers reads (`global` always), sorted. */
export function hostedShardKeys(containers: readonly HostedSource[]): ShardKey[] {
  const keys = new Set<ShardKey>([GLOBAL_SHARD]);
  for (const container of containers) {
    keys.add(shardKeyOfSource('app', container.appId));
    keys.add(shardKeyOfSource('space', container.spaceId));
    if (container.orgId !== undefined) keys.add(shardKeyOfBinding('organization', container.orgId));
  }
  return [...keys].sort();
}
