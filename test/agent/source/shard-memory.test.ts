// A resident agent's decoded shards on their own: kept by checksum, let go when unused, untouched by
// a decode that fails, and the merge keys mergeShards would work out itself.
import { describe, expect, it } from 'vitest';
import { ShardMemory } from '../../../agent/source/shard-memory.js';
import { buildSnapshot, type PolicySnapshot } from '../../../core/domain/snapshot.js';
import { destinationKeys } from '../../../core/domain/source-shards.js';
import { appPolicy, destination } from '../../helpers/shard-fixtures.js';

const shardOf = (app: string, ip: string): PolicySnapshot => buildSnapshot(1, [appPolicy(app, destination(app, ip))]);

describe('ShardMemory', () => {
  it('decodes a checksum once while it is used, and again once a sync let it go', () => {
    const memory = new ShardMemory();
    let decodes = 0;
    const entry = (sha256: string, shard: PolicySnapshot) => ({
      sha256,
      decode: () => {
        decodes += 1;
        return shard;
      },
    });
    const a = shardOf('a', '198.51.100.1');
    const b = shardOf('b', '198.51.100.2');
    expect(memory.decodeAll([entry('sa', a), entry('sb', b)])).toEqual([a, b]);
    expect(memory.decodeAll([entry('sa', shardOf('x', '192.0.2.1'))])).toEqual([a]);
    expect(decodes).toBe(2);
    // sb was not used by the last call: decoded anew.
    memory.decodeAll([entry('sa', a), entry('sb', b)]);
    expect(decodes).toBe(3);
  });

  it('keeps what it had when a decode throws', () => {
    const memory = new ShardMemory();
    const a = shardOf('a', '198.51.100.1');
    memory.decodeAll([{ sha256: 'sa', decode: () => a }]);
    const failing = () => {
      throw new Error('damaged shard');
    };
    expect(() => memory.decodeAll([{ sha256: 'sb', decode: failing }])).toThrow('damaged shard');
    expect(memory.decodeAll([{ sha256: 'sa', decode: failing }])).toEqual([a]);
  });

  it('gives the merge keys mergeShards works out, once per shard', () => {
    const memory = new ShardMemory();
    const a = shardOf('a', '198.51.100.1');
    expect(memory.keysOf(a)).toEqual(destinationKeys(a));
    expect(memory.keysOf(a)).toBe(memory.keysOf(a));
  });
});
