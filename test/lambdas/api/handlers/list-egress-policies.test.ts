// The order of GET /egress_policies: grouped by destination, then by source, then by policy id.
import { describe, expect, it } from 'vitest';
import type { Destination, EgressPolicy } from '../../../../core/domain/types.js';
import { inListOrder } from '../../../../lambdas/api/handlers/list-egress-policies.js';

const destination = (id: string): Destination => ({
  id,
  name: `name-${id}`,
  protocol: 'tcp',
  ips: [{ start: '10.0.0.1', end: '10.0.0.1' }],
  ports: [{ start: 443, end: 443 }],
});

const policy = (id: string, type: 'app' | 'space', source: string, target: string): EgressPolicy => ({
  id,
  source: { type, id: source },
  destination: destination(target),
});

describe('inListOrder', () => {
  it('groups policies by destination, then source type and id, then policy id, and leaves its input alone', () => {
    // The store's order: by policy id, which scatters each destination's copies.
    const stored = [
      policy('p1', 'app', 'b', 'd2'),
      policy('p2', 'space', 'a', 'd1'),
      policy('p3', 'app', 'b', 'd1'),
      policy('p4', 'app', 'a', 'd2'),
      policy('p5', 'app', 'a', 'd1'),
      policy('p6', 'app', 'a', 'd1'),
    ];
    const before = stored.map((p) => p.id);
    expect(inListOrder(stored).map((p) => `${p.destination.id} ${p.source.type} ${p.source.id} ${p.id}`)).toEqual([
      'd1 app a p5',
      'd1 app a p6',
      'd1 app b p3',
      'd1 space a p2',
      'd2 app a p4',
      'd2 app b p1',
    ]);
    expect(stored.map((p) => p.id)).toEqual(before);
  });
});
