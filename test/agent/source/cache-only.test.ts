// The desired state a cell applies at boot from its own copy alone (`sync --from-cache`): the copy of
// either layout as it was applied (shards of sources no longer hosted left out), else the empty state.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { desiredFromCache } from '../../../agent/source/cache-only.js';
import { desiredFromShards, encodeCellShards } from '../../../agent/source/shards.js';
import { buildSnapshot, encodeSnapshot, sha256, snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import { splitSnapshot } from '../../../core/domain/source-shards.js';
import { appPolicy, destination } from '../../helpers/shard-fixtures.js';

const snapshot = buildSnapshot(7, [
  appPolicy('app-1', destination('dest-p1', '198.51.100.10', 3306)),
  appPolicy('app-2', destination('dest-p2', '198.51.100.10', 3306)),
]);
const whole = encodeSnapshot(snapshot);
const sourceIds = (desired: ReturnType<typeof desiredFromCache>): string[] =>
  snapshotToPolicyList(desired.snapshot)
    .egress_policies.map((each) => each.source.id)
    .sort();

/** The cell's shards of `snapshot` as the agent caches them, for the hosted keys given. */
function cellShards(keys: readonly string[]): Buffer {
  const split = splitSnapshot(snapshot);
  const shards = new Map(
    keys.map((key) => {
      const shard = split.get(key);
      return [key, shard === undefined ? null : encodeSnapshot(shard).bytes] as const;
    }),
  );
  return encodeCellShards({ version: 7, epoch: 'e1', shards });
}

describe('desiredFromCache', () => {
  it('a whole snapshot the cell recorded: that snapshot, from the cache', () => {
    const desired = desiredFromCache({ version: 7, sha256: whole.sha256 }, whole.bytes, ['app:app-1', 'global']);
    expect(desired).toMatchObject({ version: 7, origin: 'cache', sha256: whole.sha256 });
    expect(sourceIds(desired)).toEqual(['app-1', 'app-2']);
  });

  it('the cell’s shards: the hosted ones, a source the copy lacks allowed nothing', () => {
    const bytes = cellShards(['app:app-1', 'app:app-2', 'global']);
    const applied = { version: 7, sha256: sha256(bytes), epoch: 'e1', layout: 'shards' } as const;
    const both = desiredFromCache(applied, bytes, ['app:app-1', 'app:app-2', 'global']);
    expect(both).toMatchObject({ version: 7, origin: 'cache', epoch: 'e1', layout: 'shards', bytes });
    expect(sourceIds(both)).toEqual(['app-1', 'app-2']);
    // app-2 no longer on the cell, app-3 new to it (not in the copy).
    const moved = desiredFromCache(applied, bytes, ['app:app-1', 'app:app-3', 'global']);
    expect(moved.origin).toBe('cache');
    expect(sourceIds(moved)).toEqual(['app-1']);
    expect(moved.digest).not.toBe(both.digest);
  });

  it('a source the copy lacks is left out of what is recorded, so the next table sync reads its shard', async () => {
    const bytes = cellShards(['app:app-1', 'global']);
    const applied = { version: 7, sha256: sha256(bytes), epoch: 'e1', layout: 'shards' } as const;
    const hosted = ['app:app-1', 'app:app-2', 'global'];
    const booted = desiredFromCache(applied, bytes, hosted);
    expect(sourceIds(booted)).toEqual(['app-1']);
    // What converge records after the boot sync; then the table, still at version 7, is asked.
    const recorded = { version: booted.version, sha256: booted.sha256, epoch: 'e1', layout: 'shards' } as const;
    const asked: string[][] = [];
    const app2 = splitSnapshot(snapshot).get('app:app-2');
    if (app2 === undefined) throw new Error('no app-2 shard');
    const table = {
      readShards: async (keys: readonly string[]) => {
        asked.push([...keys]);
        return new Map(keys.map((key) => [key, { version: 7, epoch: 'e1', bytes: encodeSnapshot(app2).bytes }]));
      },
      readChanges: async () => new Map(),
    };
    const pointer = { version: 7, chunks: 0, bytes: 0, sha256: '', writtenAt: '', epoch: 'e1', shardLog: [7] };
    const next = await desiredFromShards(table, pointer, recorded, booted.bytes, hosted);
    expect(asked).toEqual([['app:app-2']]);
    expect(sourceIds(next)).toEqual(['app-1', 'app-2']);
  });

  it.each([
    ['nothing recorded', undefined, whole.bytes],
    ['no copy', { version: 7, sha256: whole.sha256 }, undefined],
    ['a copy that is not the one recorded', { version: 7, sha256: whole.sha256 }, Buffer.from('other')],
    ['a copy this build cannot decode', { version: 7, sha256: sha256(gzipSync('{}')) }, gzipSync('{}')],
    [
      'shards recorded, a whole snapshot cached',
      { version: 7, sha256: whole.sha256, epoch: 'e1', layout: 'shards' as const },
      whole.bytes,
    ],
  ])('%s: the empty state (nothing allowed)', (_, applied, cached) => {
    const desired = desiredFromCache(applied, cached, ['app:app-1', 'global']);
    expect(desired).toMatchObject({ version: 0, origin: 'empty' });
    expect(snapshotToPolicyList(desired.snapshot).egress_policies).toEqual([]);
  });
});
