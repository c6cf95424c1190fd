// Random files must never crash the agent: they parse (and then plan) or fail with a ValidationError.
import { describe, expect, it } from 'vitest';
import { parseContainers, parsePolicies } from '../../../agent/source/files.js';
import { ValidationError } from '../../../core/domain/errors.js';
import { planRules } from '../../../core/plan/plan.js';
import { app, containerStore, icmp, policyList, space, tcp, udp } from '../fixtures.js';

function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const WEIRD: unknown[] = [
  null,
  true,
  -1,
  0,
  65536,
  1.5,
  '',
  ' ',
  '1.2.3.4 -j ACCEPT',
  '--dport',
  '256.1.1.1',
  '8.8.8.8',
  '10.255.0.0',
  '10.255.255.255',
  '01.2.3.4',
  '"',
  '\n',
  'tcp',
  'all',
  [],
  {},
  { start: '1.1.1.1' },
  '__proto__',
  'a'.repeat(300),
];

function mutate(value: unknown, random: () => number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  if (Array.isArray(value)) {
    const copy = value.map((item) => (random() < 0.3 ? mutate(item, random) : item));
    if (random() < 0.1) copy.push(pick(WEIRD));
    if (random() < 0.1) copy.pop();
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const roll = random();
      if (roll < 0.05) continue;
      copy[key] = roll < 0.3 ? mutate(item, random) : item;
    }
    if (random() < 0.05) copy[pick(['extra', 'icmp_type', 'ports', '__proto__', 'constructor'])] = pick(WEIRD);
    return copy;
  }
  return random() < 0.5 ? pick(WEIRD) : value;
}

describe('fuzzing the agent inputs', () => {
  const policies = policyList([
    tcp('p1', app('a'), ['198.51.100.1', '198.51.100.9'], [80, 90]),
    udp('p2', space('s'), ['203.0.113.0', '203.0.113.255'], [53, 53]),
    icmp('p3', app('a'), ['198.51.100.1', '198.51.100.1'], 8, 0),
  ]);
  const store = containerStore([
    { ip: '10.255.1.2', appId: 'a', spaceId: 's' },
    { ip: '10.255.1.3', appId: 'b', spaceId: 's' },
  ]);

  it('never crashes on mutated policies or stores: parse + plan, or a ValidationError', () => {
    const random = prng(20261124);
    let accepted = 0;
    for (let round = 0; round < 1500; round += 1) {
      const text = round % 10 === 0 ? JSON.stringify(policies).slice(0, Math.floor(random() * 200)) : null;
      try {
        const list = parsePolicies(text ?? JSON.stringify(mutate(policies, random)));
        const mutated = mutate(store, random);
        const containers = parseContainers(JSON.stringify(mutated));
        // Accepted: every entry became a container, each on the overlay and not its network/broadcast address.
        expect(containers).toHaveLength(Object.keys(mutated ?? {}).length);
        for (const { ip } of containers) expect(ip).toMatch(/^10\.255\.(?!0\.0$|255\.255$)\d+\.\d+$/);
        planRules(list, containers);
        accepted += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('never drops or merges an entry of a store text: handles from a small pool, some repeated', () => {
    const random = prng(424242);
    const HANDLES = ['h1', 'h2', '__proto__', 'constructor', '\\u0068\\u0031'];
    let accepted = 0;
    for (let round = 0; round < 500; round += 1) {
      const count = 1 + Math.floor(random() * 3);
      const entries = Array.from({ length: count }, (_, index) => {
        const handle = HANDLES[Math.floor(random() * HANDLES.length)];
        return `"${handle}": {"handle": "x", "ip": "10.255.1.${index + 2}", "metadata": {"app_id": "a", "space_id": "s"}}`;
      });
      try {
        expect(parseContainers(`{${entries.join(', ')}}`)).toHaveLength(count);
        accepted += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as Error).message).toMatch(/^containers: key ".+" appears twice$/);
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(500);
  });
});
