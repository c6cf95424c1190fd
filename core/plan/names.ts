// Every kernel object the agent owns carries one prefix; the rest of the name is a hash, so no
// handle, id or other input text ever reaches an iptables or ipset argument.
import { hash } from 'node:crypto';

/** Prefix of every chain and ipset the agent owns (Felix uses `cali-`). */
export const OWNED_PREFIX = 'dyneg-';
/** The agent's entry chain, jumped to from FORWARD. */
export const ROOT_CHAIN = `${OWNED_PREFIX}FORWARD`;
/** The built-in chain holding the (only) jump into ROOT_CHAIN. */
export const HOOK_CHAIN = 'FORWARD';
/** Comment tag on every owned rule: `dyneg:<16 hex>`. */
export const COMMENT_PREFIX = 'dyneg:';

const HASH_CHARS = 16;

/** sha256 (names must not collide, even for chosen input), hex, cut; one-shot `hash` is 2-5× cheaper than a Hash object. */
export function shortHash(text: string, length = HASH_CHARS): string {
  return hash('sha256', text, 'hex').slice(0, length);
}

/** A per-container chain, keyed by the container's IP (unique on a cell). */
export const containerChain = (ip: string): string => `${OWNED_PREFIX}c-${shortHash(`container:${ip}`)}`;
/** The allow-list chain shared by every container of one app. */
export const appChain = (appId: string): string => `${OWNED_PREFIX}a-${shortHash(`app:${appId}`)}`;
/** The allow-list chain shared by every container of one space. */
export const spaceChain = (spaceId: string): string => `${OWNED_PREFIX}s-${shortHash(`space:${spaceId}`)}`;
/**
 * The allow-list chain of one security-group binding (scope, lifecycle, target guid; '' for global),
 * shared by every container it applies to.
 */
export const groupChain = (scope: string, lifecycle: string, target: string): string =>
  `${OWNED_PREFIX}g-${shortHash(`group:${scope}:${lifecycle}:${target}`)}`;
/** A dispatch node for the containers inside one CIDR block. */
export const dispatchChain = (cidr: string): string => `${OWNED_PREFIX}d-${shortHash(`dispatch:${cidr}`)}`;
/** A content-addressed destination set (hash:net). */
export const setName = (members: readonly string[], nomatch: readonly string[] = []): string =>
  `${OWNED_PREFIX}n-${shortHash(nomatch.length === 0 ? members.join(',') : `${members.join(',')}!${nomatch.join(',')}`)}`;
/** Every list:set name, scratch ones included, starts with this (ipsets.ts orders them by it). */
export const LIST_SET_PREFIX = `${OWNED_PREFIX}l`;
/** A content-addressed list:set of destination sets (its members are set names). */
export const listSetName = (members: readonly string[]): string =>
  `${LIST_SET_PREFIX}-${shortHash(`list:${members.join(',')}`)}`;
/** The scratch set used to repair a set whose members drifted (create, fill, swap, destroy); same kind. */
export const tempSetName = (name: string): string =>
  isListSet(name)
    ? `${LIST_SET_PREFIX}t-${shortHash(`temp:${name}`)}`
    : `${OWNED_PREFIX}t-${shortHash(`temp:${name}`)}`;
/** Whether an owned set name is a list:set (or a list:set's scratch set). */
export const isListSet = (name: string): boolean => name.startsWith(LIST_SET_PREFIX);

export const isOwned = (name: string): boolean => name.startsWith(OWNED_PREFIX);

/**
 * Every host-name set (agent/names/: one hash:ip set per destination with `hosts`, its members the
 * names' current addresses) and its scratch set start with this. The names refresh owns them, not
 * the sync: their members change with DNS answers under a name that stays, so the sync neither
 * diffs, records nor destroys them (isPlanSet); uninstall removes them with everything else.
 */
export const HOST_SET_PREFIX = `${OWNED_PREFIX}h`;
/**
 * The set holding the current addresses of one destination's exact host names, keyed by the
 * destination's id and those names (in any order). Names in the key, not the id alone: a destination
 * whose names change gets a new, empty set, which the names refresh fills for the new names only,
 * where a set kept under its id would go on allowing the old names' addresses (until a refresh pass
 * rebuilt it, or its members' timeouts ran out with no refresh running).
 */
export const hostSetName = (destinationId: string, hosts: readonly string[]): string =>
  `${HOST_SET_PREFIX}-${shortHash(`host:${destinationId}\n${[...new Set(hosts)].sort().join('\n')}`)}`;
/** The scratch set a host set is rebuilt in before `ipset swap`. */
export const hostTempSetName = (name: string): string => `${HOST_SET_PREFIX}t-${shortHash(`temp:${name}`)}`;
export const isHostSet = (name: string): boolean => name.startsWith(HOST_SET_PREFIX);
/** The owned sets the sync plans, diffs and records: all but the host-name sets. */
export const isPlanSet = (name: string): boolean => isOwned(name) && !isHostSet(name);
