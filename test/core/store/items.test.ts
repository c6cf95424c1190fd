import { describe, expect, it } from 'vitest';
import { destinationItem, destinationRefKey, destinationRefSource } from '../../../core/store/items.js';
import { tcpDestination } from '../../helpers/fixtures.js';

describe('destinationRefSource', () => {
  it("reads back every guard key's source", () => {
    for (const lifecycle of [undefined, 'running', 'staging'] as const) {
      for (const [type, id] of [
        ['app', 'app-1'],
        ['space', '2b0c7e5e-5b7a-4e0c-9f1e-000000000001'],
        ['default', ''],
        ['app', 'with:colons.and_dots'],
      ] as const) {
        expect(destinationRefSource(destinationRefKey('d', type, id, lifecycle).sk)).toEqual({
          source_type: type,
          source_id: id,
        });
      }
    }
  });

  it("splits at the known type prefix and lifecycle suffixes only, so an id's own '#' stays", () => {
    expect(destinationRefSource('app#a#b')).toEqual({ source_type: 'app', source_id: 'a#b' });
    expect(destinationRefSource('app#a#b#running')).toEqual({ source_type: 'app', source_id: 'a#b' });
    expect(destinationRefSource('space#x#stagingish')).toEqual({ source_type: 'space', source_id: 'x#stagingish' });
  });

  it('is undefined for what no guard key is', () => {
    for (const sk of ['', 'app', 'app#', 'app##running', 'org#o', 'default#x', 'default#x#running', 'APP#a']) {
      expect(destinationRefSource(sk)).toBeUndefined();
    }
  });
});

describe('destinationItem', () => {
  it('carries ref_writes when it was read, and leaves it out when there was none', () => {
    const destination = { id: 'd', ...tcpDestination('n') };
    expect(destinationItem(destination, 2, 5)).toMatchObject({ refs: 2, ref_writes: 5 });
    expect(destinationItem(destination, 2)).not.toHaveProperty('ref_writes');
  });
});
