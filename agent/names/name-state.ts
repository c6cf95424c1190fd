// What the agent knows of each host name, and the rules that change it. Pure: the clock is an
// argument (epoch milliseconds), lookups are values (resolve.ts), nothing here touches a file or the
// kernel.
//
// Each name keeps its addresses with their expiry: now + the answer's TTL, raised to a floor and cut
// at a ceiling. An address stays allowed until its expiry plus a grace period, whether a newer answer
// left it out or the lookups failed, so a client that cached it (or a pool that keeps opening
// connections to it) is not cut the moment the name moves; after that it goes, so a lost resolver
// ends in less access, never more. A name keeps at most `maxAddresses` addresses, those of the
// newest answer first.
import { refusedAddress } from './allowed-address.js';
import type { Lookup } from './resolve.js';

export interface NamePolicy {
  /** An answer counts for at least this long, whatever its TTL: no name is looked up more often. */
  readonly ttlFloorMs: number;
  /** An answer counts for at most this long (a TTL of days, or a clock gone back, ends here). */
  readonly ttlCeilingMs: number;
  /** How long an address stays allowed after its expiry when no answer renews it. */
  readonly graceMs: number;
  /** Addresses kept per name. */
  readonly maxAddresses: number;
  /** The shortest pause between two passes. */
  readonly minRefreshMs: number;
  /** The longest pause between two passes, whatever the TTLs. */
  readonly maxRefreshMs: number;
  /**
   * After a failed lookup the next try comes this much later (at most ttlFloorMs), doubled per further
   * failure, never later than maxRefreshMs.
   */
  readonly retryMs: number;
}

export const DEFAULT_NAME_POLICY: NamePolicy = {
  ttlFloorMs: 30_000,
  ttlCeilingMs: 86_400_000,
  graceMs: 300_000,
  maxAddresses: 64,
  minRefreshMs: 1_000,
  maxRefreshMs: 300_000,
  retryMs: 5_000,
};

export interface AddressEntry {
  readonly address: string;
  /** Epoch ms; the address is allowed while now < expiresAt + grace. */
  readonly expiresAt: number;
}

export interface NameEntry {
  /** Those of the newest answer first (in its order), then older ones, latest expiry first. */
  readonly addresses: readonly AddressEntry[];
  /** Epoch ms at which the name is looked up again. */
  readonly nextLookupAt: number;
  /** Lookups failed in a row. */
  readonly failures: number;
}

export type NameStates = ReadonlyMap<string, NameEntry>;

/** A name never looked up: due now, no address. */
export const newName = (now: number): NameEntry => ({ addresses: [], nextLookupAt: now, failures: 0 });

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));

const alive = (entry: AddressEntry, now: number, policy: NamePolicy): boolean => now < entry.expiresAt + policy.graceMs;

/** The entry without the addresses whose grace is over. */
export function prune(entry: NameEntry, now: number, policy: NamePolicy): NameEntry {
  const addresses = entry.addresses.filter((address) => alive(address, now, policy));
  return addresses.length === entry.addresses.length ? entry : { ...entry, addresses };
}

/** The addresses of `entry` allowed at `now`, each with the epoch ms its grace ends at. */
export const allowedUntil = (
  entry: NameEntry,
  now: number,
  policy: NamePolicy,
): { readonly address: string; readonly until: number }[] =>
  entry.addresses
    .filter((address) => alive(address, now, policy))
    .map((address) => ({ address: address.address, until: address.expiresAt + policy.graceMs }));

export interface LookupOutcome {
  readonly entry: NameEntry;
  /** What an operator should hear about: failures, refused or dropped addresses, an empty answer. */
  readonly problems: readonly string[];
}

/**
 * The entry after `lookup` came back at `now`. `never`: networks no answer may add (allowed-address.ts).
 */
export function applyLookup(
  previous: NameEntry | undefined,
  lookup: Lookup,
  now: number,
  policy: NamePolicy,
  never: readonly string[] = [],
): LookupOutcome {
  const before = prune(previous ?? newName(now), now, policy);
  if (lookup.kind === 'failed') {
    const failures = before.failures + 1;
    const first = Math.min(policy.retryMs, policy.ttlFloorMs);
    const retry = Math.min(first * 2 ** Math.min(failures - 1, 30), policy.maxRefreshMs);
    const kept = before.addresses.length;
    return {
      entry: { addresses: before.addresses, nextLookupAt: now + retry, failures },
      problems: [
        `${lookup.problem}; ${kept === 0 ? 'no address to keep' : `keeping ${kept} address${kept === 1 ? '' : 'es'} until expiry + grace`}`,
      ],
    };
  }
  const problems: string[] = [];
  // The newest answer, refused addresses left out, each address once (its longest TTL).
  const fresh = new Map<string, number>();
  for (const { address, ttl } of lookup.addresses) {
    const refused = refusedAddress(address, never);
    if (refused !== undefined) {
      problems.push(`answer ${address} refused: ${refused}`);
      continue;
    }
    const expiresAt = now + clamp(ttl * 1000, policy.ttlFloorMs, policy.ttlCeilingMs);
    fresh.set(address, Math.max(expiresAt, fresh.get(address) ?? 0));
  }
  if (lookup.addresses.length === 0) problems.push('answered with no IPv4 address');
  const older = before.addresses
    .filter((entry) => !fresh.has(entry.address))
    .sort((a, b) => b.expiresAt - a.expiresAt || (a.address < b.address ? -1 : 1));
  const all = [...[...fresh].map(([address, expiresAt]) => ({ address, expiresAt })), ...older];
  if (all.length > policy.maxAddresses) {
    const dropped = all.length - policy.maxAddresses;
    problems.push(`${dropped} address${dropped === 1 ? '' : 'es'} over the cap of ${policy.maxAddresses} dropped`);
  }
  let earliest = Number.POSITIVE_INFINITY;
  for (const expiresAt of fresh.values()) earliest = Math.min(earliest, expiresAt);
  return {
    entry: {
      addresses: all.slice(0, policy.maxAddresses),
      // No usable address in the answer: ask again after the floor.
      nextLookupAt: fresh.size === 0 ? now + policy.ttlFloorMs : earliest,
      failures: 0,
    },
    problems,
  };
}

/** Names whose lookup is due at `now`, in name order. */
export const dueNames = (states: NameStates, now: number): string[] =>
  [...states]
    .filter(([, entry]) => entry.nextLookupAt <= now)
    .map(([name]) => name)
    .sort();

/**
 * Milliseconds until the next pass should run: the earliest lookup due or grace ending, bounded by
 * [minRefreshMs, maxRefreshMs].
 */
export function nextDelay(states: NameStates, now: number, policy: NamePolicy): number {
  let next = now + policy.maxRefreshMs;
  for (const entry of states.values()) {
    next = Math.min(next, entry.nextLookupAt);
    for (const address of entry.addresses) {
      const end = address.expiresAt + policy.graceMs;
      if (end > now) next = Math.min(next, end);
    }
  }
  return clamp(next - now, policy.minRefreshMs, policy.maxRefreshMs);
}

/**
 * An entry read back from a state file, made safe for `now`: times no later than the ceiling allows,
 * refused addresses out (the networks may have changed since), at most maxAddresses, dead ones pruned.
 */
export function restoreEntry(
  entry: NameEntry,
  now: number,
  policy: NamePolicy,
  never: readonly string[] = [],
): NameEntry {
  const latest = now + policy.ttlCeilingMs;
  const addresses = entry.addresses
    .filter((address) => refusedAddress(address.address, never) === undefined)
    .map((address) => (address.expiresAt > latest ? { ...address, expiresAt: latest } : address))
    .slice(0, policy.maxAddresses);
  return prune(
    { addresses, nextLookupAt: Math.min(entry.nextLookupAt, latest), failures: entry.failures },
    now,
    policy,
  );
}
