// The rules of a name's addresses, with a clock of plain numbers: TTL floor and ceiling, grace, cap,
// failures keeping the old addresses until expiry + grace, and when the next pass is due.
import { describe, expect, it } from 'vitest';
import {
  allowedUntil,
  applyLookup,
  DEFAULT_NAME_POLICY,
  dueNames,
  type NameEntry,
  type NamePolicy,
  newName,
  nextDelay,
  restoreEntry,
} from '../../../agent/names/name-state.js';
import type { Lookup } from '../../../agent/names/resolve.js';

/** The addresses allowedUntil gives, without their grace ends. */
const allowedAt = (entry: NameEntry, now: number, policy: NamePolicy): string[] =>
  allowedUntil(entry, now, policy).map((allowed) => allowed.address);

const POLICY: NamePolicy = {
  ttlFloorMs: 30_000,
  ttlCeilingMs: 3_600_000,
  graceMs: 300_000,
  maxAddresses: 4,
  minRefreshMs: 1_000,
  maxRefreshMs: 600_000,
  retryMs: 5_000,
};
const T0 = 1_000_000_000_000;
const answer = (...records: [string, number][]): Lookup => ({
  kind: 'answered',
  addresses: records.map(([address, ttl]) => ({ address, ttl })),
});
const failed: Lookup = { kind: 'failed', problem: 'lookup failed: ETIMEOUT' };

describe('applyLookup', () => {
  it('keeps an answer for its TTL: the next lookup is due at its expiry', () => {
    const { entry, problems } = applyLookup(undefined, answer(['198.51.100.1', 60], ['198.51.100.2', 60]), T0, POLICY);
    expect(problems).toEqual([]);
    expect(entry).toEqual({
      addresses: [
        { address: '198.51.100.1', expiresAt: T0 + 60_000 },
        { address: '198.51.100.2', expiresAt: T0 + 60_000 },
      ],
      nextLookupAt: T0 + 60_000,
      failures: 0,
    });
  });

  it('raises a TTL below the floor to the floor (TTL 0 or 1 is not a lookup a second), and cuts one above the ceiling', () => {
    expect(applyLookup(undefined, answer(['198.51.100.1', 0]), T0, POLICY).entry.nextLookupAt).toBe(T0 + 30_000);
    expect(applyLookup(undefined, answer(['198.51.100.1', 1]), T0, POLICY).entry.addresses[0]?.expiresAt).toBe(
      T0 + 30_000,
    );
    expect(applyLookup(undefined, answer(['198.51.100.1', 86_400 * 7]), T0, POLICY).entry.nextLookupAt).toBe(
      T0 + 3_600_000,
    );
  });

  it('keeps an address the new answer leaves out until its expiry + grace, then drops it', () => {
    const first = applyLookup(undefined, answer(['198.51.100.1', 60]), T0, POLICY).entry;
    const moved = applyLookup(first, answer(['198.51.100.2', 60]), T0 + 60_000, POLICY).entry;
    expect(moved.addresses.map((a) => a.address)).toEqual(['198.51.100.2', '198.51.100.1']);
    // Allowed up to the old expiry (T0 + 60 s) + grace (300 s), not a millisecond longer.
    expect(allowedAt(moved, T0 + 359_999, POLICY)).toEqual(['198.51.100.2', '198.51.100.1']);
    expect(allowedAt(moved, T0 + 360_000, POLICY)).toEqual(['198.51.100.2']);
    const renewed = applyLookup(moved, answer(['198.51.100.2', 60]), T0 + 360_000, POLICY).entry;
    expect(renewed.addresses.map((a) => a.address)).toEqual(['198.51.100.2']);
  });

  it('a failed lookup keeps the previous addresses until their expiry + grace, never extends them, and retries sooner', () => {
    const first = applyLookup(undefined, answer(['198.51.100.1', 60]), T0, POLICY).entry;
    const once = applyLookup(first, failed, T0 + 60_000, POLICY);
    expect(once.entry.addresses).toEqual(first.addresses);
    expect(once.entry.failures).toBe(1);
    expect(once.entry.nextLookupAt).toBe(T0 + 65_000);
    expect(once.problems).toEqual(['lookup failed: ETIMEOUT; keeping 1 address until expiry + grace']);
    // Retries back off: 5 s, 10 s, 20 s …
    const twice = applyLookup(once.entry, failed, T0 + 65_000, POLICY).entry;
    expect(twice.nextLookupAt).toBe(T0 + 75_000);
    expect(applyLookup(twice, failed, T0 + 75_000, POLICY).entry.nextLookupAt).toBe(T0 + 95_000);
    expect(allowedAt(twice, T0 + 359_999, POLICY)).toEqual(['198.51.100.1']);
    // After expiry + grace a failure has nothing left to keep.
    const late = applyLookup(twice, failed, T0 + 360_000, POLICY);
    expect(late.entry.addresses).toEqual([]);
    expect(late.problems).toEqual(['lookup failed: ETIMEOUT; no address to keep']);
    // An answer again resets the failures.
    expect(applyLookup(late.entry, answer(['198.51.100.1', 60]), T0 + 400_000, POLICY).entry.failures).toBe(0);
  });

  it('never waits longer than maxRefreshMs between retries, nor longer than the floor for the first', () => {
    let entry: NameEntry = newName(T0);
    let now = T0;
    for (let i = 0; i < 40; i += 1) {
      entry = applyLookup(entry, failed, now, POLICY).entry;
      expect(entry.nextLookupAt - now).toBeLessThanOrEqual(POLICY.maxRefreshMs);
      now = entry.nextLookupAt;
    }
    const shortFloor = { ...POLICY, ttlFloorMs: 1_000 };
    expect(applyLookup(undefined, failed, T0, shortFloor).entry.nextLookupAt).toBe(T0 + 1_000);
  });

  it('an answer with no address (NXDOMAIN, no A record) ages the old addresses out and asks again after the floor', () => {
    const first = applyLookup(undefined, answer(['198.51.100.1', 60]), T0, POLICY).entry;
    const { entry, problems } = applyLookup(first, answer(), T0 + 60_000, POLICY);
    expect(problems).toEqual(['answered with no IPv4 address']);
    expect(entry.addresses).toEqual(first.addresses);
    expect(entry.nextLookupAt).toBe(T0 + 90_000);
    expect(entry.failures).toBe(0);
  });

  it('keeps at most maxAddresses: the newest answer first, then the latest expiries; says how many it dropped', () => {
    const older = applyLookup(undefined, answer(['203.0.113.1', 60], ['203.0.113.2', 120]), T0, POLICY).entry;
    const big = answer(['198.51.100.1', 60], ['198.51.100.2', 60], ['198.51.100.3', 60]);
    const { entry, problems } = applyLookup(older, big, T0 + 60_000, POLICY);
    expect(entry.addresses.map((a) => a.address)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
      '203.0.113.2',
    ]);
    expect(problems).toEqual(['1 address over the cap of 4 dropped']);
    const huge = answer(...Array.from({ length: 6 }, (_, i): [string, number] => [`198.51.100.${i + 1}`, 60]));
    const capped = applyLookup(undefined, huge, T0, POLICY);
    expect(capped.entry.addresses.map((a) => a.address)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
      '198.51.100.4',
    ]);
    expect(capped.problems).toEqual(['2 addresses over the cap of 4 dropped']);
  });

  it('refuses addresses no answer may add, and keeps the rest', () => {
    const lookup = answer(['127.0.0.1', 60], ['169.254.169.254', 60], ['10.255.1.2', 60], ['198.51.100.1', 60]);
    const { entry, problems } = applyLookup(undefined, lookup, T0, POLICY, ['10.255.0.0/16']);
    expect(entry.addresses.map((a) => a.address)).toEqual(['198.51.100.1']);
    expect(problems).toEqual([
      'answer 127.0.0.1 refused: loopback (127.0.0.0/8)',
      'answer 169.254.169.254 refused: link-local (169.254.0.0/16, the instance metadata service among them)',
      'answer 10.255.1.2 refused: inside 10.255.0.0/16, which no answer may open',
    ]);
  });

  it('an answer of only refused addresses is asked again after the floor', () => {
    const { entry } = applyLookup(undefined, answer(['127.0.0.1', 3600]), T0, POLICY);
    expect(entry).toEqual({ addresses: [], nextLookupAt: T0 + 30_000, failures: 0 });
  });

  it('an address answered twice counts once, with its longest TTL', () => {
    const { entry } = applyLookup(undefined, answer(['198.51.100.1', 40], ['198.51.100.1', 90]), T0, POLICY);
    expect(entry.addresses).toEqual([{ address: '198.51.100.1', expiresAt: T0 + 90_000 }]);
  });
});

describe('dueNames and nextDelay', () => {
  const states = new Map<string, NameEntry>([
    ['b.example', { addresses: [], nextLookupAt: T0, failures: 0 }],
    ['a.example', { addresses: [], nextLookupAt: T0 - 1, failures: 0 }],
    [
      'c.example',
      { addresses: [{ address: '198.51.100.1', expiresAt: T0 - 200_000 }], nextLookupAt: T0 + 50_000, failures: 0 },
    ],
  ]);

  it('due: every name whose lookup time has come, in name order', () => {
    expect(dueNames(states, T0)).toEqual(['a.example', 'b.example']);
    expect(dueNames(states, T0 + 50_000)).toEqual(['a.example', 'b.example', 'c.example']);
  });

  it('the next pass comes at the earliest lookup or end of grace, bounded by the refresh interval', () => {
    const later = new Map([...states].filter(([name]) => name === 'c.example'));
    // c's lookup at +50 s; its graced address ends at T0 - 200 s + 300 s = +100 s: the lookup comes first.
    expect(nextDelay(later, T0, POLICY)).toBe(50_000);
    // A grace that ends before the next lookup wakes the loop to drop the address.
    const graceFirst = new Map([['c.example', { ...later.get('c.example'), nextLookupAt: T0 + 500_000 } as NameEntry]]);
    expect(nextDelay(graceFirst, T0, POLICY)).toBe(100_000);
    // Never sooner than minRefreshMs (a name due now), never later than maxRefreshMs (no names at all).
    expect(nextDelay(states, T0, POLICY)).toBe(1_000);
    expect(nextDelay(new Map(), T0, POLICY)).toBe(600_000);
    const far = new Map([['d.example', { addresses: [], nextLookupAt: T0 + 3_600_000, failures: 0 }]]);
    expect(nextDelay(far, T0, POLICY)).toBe(600_000);
  });
});

describe('restoreEntry (a state file read back)', () => {
  it('keeps live addresses, prunes dead ones, drops refused ones and cuts times past the ceiling', () => {
    const entry: NameEntry = {
      addresses: [
        { address: '198.51.100.1', expiresAt: T0 + 10_000 },
        { address: '198.51.100.2', expiresAt: T0 - 300_000 },
        { address: '10.255.0.9', expiresAt: T0 + 10_000 },
        { address: '198.51.100.3', expiresAt: T0 + 10 * 3_600_000 },
      ],
      nextLookupAt: T0 + 10 * 3_600_000,
      failures: 2,
    };
    expect(restoreEntry(entry, T0, POLICY, ['10.255.0.0/16'])).toEqual({
      addresses: [
        { address: '198.51.100.1', expiresAt: T0 + 10_000 },
        { address: '198.51.100.3', expiresAt: T0 + 3_600_000 },
      ],
      nextLookupAt: T0 + 3_600_000,
      failures: 2,
    });
  });

  it('keeps at most maxAddresses', () => {
    const addresses = Array.from({ length: 10 }, (_, i) => ({ address: `198.51.100.${i + 1}`, expiresAt: T0 + 1 }));
    expect(restoreEntry({ addresses, nextLookupAt: T0, failures: 0 }, T0, POLICY).addresses).toHaveLength(4);
  });
});

describe('DEFAULT_NAME_POLICY', () => {
  it('is what docs/agent.md says: floor 30 s, grace 5 min, 64 addresses, passes 1 s to 5 min apart', () => {
    expect(DEFAULT_NAME_POLICY).toEqual({
      ttlFloorMs: 30_000,
      ttlCeilingMs: 86_400_000,
      graceMs: 300_000,
      maxAddresses: 64,
      minRefreshMs: 1_000,
      maxRefreshMs: 300_000,
      retryMs: 5_000,
    });
  });
});
