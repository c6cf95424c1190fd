// A cell reading its own source shards from DynamoDB Local: nothing after a change elsewhere, only
// the changed shard after a change to one of its apps, all of its shards after a gap, and a moved
// shared destination on every cell hosting a user of it. It never goes back.
import { describe, expect, it } from 'vitest';
import type { AppliedVersion } from '../../../agent/source/desired-state.js';
import { desiredSnapshot, OlderSnapshotError } from '../../../agent/source/dynamodb.js';
import { ShardMemory } from '../../../agent/source/shard-memory.js';
import { hostedShardKeys, type ShardKey } from '../../../core/domain/shard-keys.js';
import { snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import { ShardItems } from '../../../core/store/shard-items.js';
import { SHARD_LOG_LENGTH, shardedSnapshotStore } from '../../../core/store/sharded-snapshot-store.js';
import { documentClient } from '../../../core/store/table-stores.js';
import { createTestTable } from '../../helpers/ddb.js';
import { appPolicy, destination, published } from '../../helpers/shard-fixtures.js';

type Store = Pick<ReturnType<typeof shardedSnapshotStore>, 'readPointer' | 'readShards' | 'readChanges'>;

/** A cell: what it hosts, what it applied and cached, and what it read from the table. */
class Cell {
  applied: AppliedVersion | undefined;
  cached: Buffer | undefined;
  shardKeysRead: ShardKey[] = [];
  changeVersionsRead: number[] = [];

  constructor(
    private readonly store: Store,
    private readonly apps: readonly string[],
    /** A resident agent's decoded shards, kept between this cell's syncs. */
    private readonly memory?: ShardMemory,
  ) {}

  /** One sync: the desired state, recorded as applied. Returns the destinations it may reach, by app. */
  async sync(rereadAll = false): Promise<Record<string, string[]>> {
    this.shardKeysRead = [];
    this.changeVersionsRead = [];
    const source = {
      readPointer: () => this.store.readPointer(),
      readBytes: () => Promise.reject(new Error('a sharded cell never reads the whole snapshot')),
      readShards: (keys: readonly ShardKey[]) => {
        this.shardKeysRead.push(...keys);
        return this.store.readShards(keys);
      },
      readChanges: (versions: readonly number[]) => {
        this.changeVersionsRead.push(...versions);
        return this.store.readChanges(versions);
      },
    };
    const hosted = hostedShardKeys(this.apps.map((app) => ({ appId: app, spaceId: `space-of-${app}` })));
    const desired = await desiredSnapshot(source, this.applied, this.cached, hosted, rereadAll, this.memory);
    this.applied = {
      version: desired.version,
      sha256: desired.sha256,
      ...(desired.epoch === undefined ? {} : { epoch: desired.epoch }),
      ...(desired.layout === undefined ? {} : { layout: desired.layout }),
    };
    this.cached = desired.bytes;
    const reach: Record<string, string[]> = {};
    for (const policy of snapshotToPolicyList(desired.snapshot).egress_policies) {
      const ips = policy.destination.ips.map((ip) => ip.start).join(',');
      reach[policy.source.id] = [...(reach[policy.source.id] ?? []), ips];
    }
    return reach;
  }
}

/** Counts the shards it had to decode (those it did not keep). */
class CountingMemory extends ShardMemory {
  decoded = 0;
  override decodeAll(shards: Parameters<ShardMemory['decodeAll']>[0]) {
    return super.decodeAll(
      shards.map((shard) => ({
        ...shard,
        decode: () => {
          this.decoded += 1;
          return shard.decode();
        },
      })),
    );
  }
}

const shared = destination('shared', '198.51.100.1');
const own = (app: string, ip = `203.0.113.${app.length + 10}`) => destination(`own-${app}`, ip);

async function setUp() {
  const table = await createTestTable();
  const documents = documentClient(table.client);
  const store = shardedSnapshotStore(documents, table.tableName);
  return { store, items: new ShardItems(documents, table.tableName) };
}

describe('a cell reading its source shards', () => {
  it('with a resident agent’s memory, decodes only the shards that changed and desires the same', async () => {
    const { store } = await setUp();
    const memory = new CountingMemory();
    const resident = new Cell(store, ['a', 'b', 'c'], memory);
    const fresh = new Cell(store, ['a', 'b', 'c']);
    const both = async () => {
      memory.decoded = 0;
      const reach = await resident.sync();
      expect(reach).toEqual(await fresh.sync());
      return { reach, decoded: memory.decoded };
    };
    const base = [appPolicy('a', own('a')), appPolicy('b', shared), appPolicy('c', shared), appPolicy('c', own('ccc'))];
    await store.write(published(1, base));
    expect(await both()).toEqual({
      reach: { a: ['203.0.113.11'], b: ['198.51.100.1'], c: ['198.51.100.1', '203.0.113.13'] },
      decoded: 3,
    });
    // One app's destination moved: its shard alone is decoded; the shared destination stays one.
    await store.write(published(2, [appPolicy('a', own('a', '203.0.113.99')), ...base.slice(1)]));
    expect(await both()).toEqual({
      reach: { a: ['203.0.113.99'], b: ['198.51.100.1'], c: ['198.51.100.1', '203.0.113.13'] },
      decoded: 1,
    });
    // Back to what it decoded two syncs ago: let go of since, so decoded again.
    await store.write(published(3, base));
    expect((await both()).decoded).toBe(1);
    // One of c's policies removed: c's shard alone.
    await store.write(published(4, base.slice(0, 3)));
    expect(await both()).toEqual({
      reach: { a: ['203.0.113.11'], b: ['198.51.100.1'], c: ['198.51.100.1'] },
      decoded: 1,
    });
  });

  it('reads nothing after a change elsewhere, only its changed shard after a change to its app', async () => {
    const { store } = await setUp();
    const policies = [appPolicy('a', own('a')), appPolicy('b', own('bb')), appPolicy('other', own('other'))];
    await store.write(published(1, policies));
    const cell = new Cell(store, ['a', 'b']);
    expect(await cell.sync()).toEqual({ a: ['203.0.113.11'], b: ['203.0.113.12'] });
    // First start: every hosted shard (apps, spaces, global), nothing of `other`.
    expect(cell.shardKeysRead.sort()).toEqual(['app:a', 'app:b', 'global', 'space:space-of-a', 'space:space-of-b']);

    // A change to an app the cell does not host: the pointer names it, no further read.
    await store.write(published(2, [...policies, appPolicy('other', own('other2', '192.0.2.2'))]));
    await cell.sync();
    expect(cell.changeVersionsRead).toEqual([]);
    expect(cell.shardKeysRead).toEqual([]);
    expect(cell.applied?.version).toBe(2);

    // Two publishes behind, the second to app a: the older change entry is read, then that shard only.
    await store.write(published(3, [...policies, appPolicy('other', own('other3', '192.0.2.4'))]));
    await store.write(
      published(4, [
        ...policies,
        appPolicy('other', own('other3', '192.0.2.4')),
        appPolicy('a', own('a2', '192.0.2.3')),
      ]),
    );
    expect(await cell.sync()).toEqual({ a: ['203.0.113.11', '192.0.2.3'], b: ['203.0.113.12'] });
    expect(cell.changeVersionsRead).toEqual([3]);
    expect(cell.shardKeysRead).toEqual(['app:a']);

    // Nothing new: no reads at all, and the cell's copy is kept as it is (not encoded again).
    const copy = cell.cached;
    await cell.sync();
    expect([cell.changeVersionsRead, cell.shardKeysRead]).toEqual([[], []]);
    expect(cell.cached).toBe(copy);
    // The periodic repair sync reads every hosted shard again.
    expect(await cell.sync(true)).toEqual({ a: ['203.0.113.11', '192.0.2.3'], b: ['203.0.113.12'] });
    expect(cell.shardKeysRead.sort()).toEqual(['app:a', 'app:b', 'global', 'space:space-of-a', 'space:space-of-b']);
  });

  it('reads the shard of an app it starts hosting, even when the version did not move', async () => {
    const { store } = await setUp();
    await store.write(published(1, [appPolicy('a', own('a')), appPolicy('c', own('ccc'))]));
    const cell = new Cell(store, ['a']);
    await cell.sync();
    const grown = new Cell(store, ['a', 'c']);
    grown.applied = cell.applied;
    grown.cached = cell.cached;
    expect(await grown.sync()).toEqual({ a: ['203.0.113.11'], c: ['203.0.113.13'] });
    expect(grown.shardKeysRead.sort()).toEqual(['app:c', 'space:space-of-c']);
    // Back to hosting `a` alone: nothing to read, but its copy drops c's shards.
    const shrunk = new Cell(store, ['a']);
    shrunk.applied = grown.applied;
    shrunk.cached = grown.cached;
    expect(await shrunk.sync()).toEqual({ a: ['203.0.113.11'] });
    expect(shrunk.shardKeysRead).toEqual([]);
    expect(shrunk.cached).not.toEqual(grown.cached);
  });

  it('moves a shared destination on every cell hosting a user of it', async () => {
    const { store } = await setUp();
    const users = [appPolicy('a', shared), appPolicy('b', shared), appPolicy('c', own('c'))];
    await store.write(published(1, users));
    const cells = [new Cell(store, ['a']), new Cell(store, ['b']), new Cell(store, ['c'])];
    for (const cell of cells) await cell.sync();
    const moved = destination('shared', '198.51.100.99');
    await store.write(published(2, [appPolicy('a', moved), appPolicy('b', moved), appPolicy('c', own('c'))]));
    expect(await cells[0]?.sync()).toEqual({ a: ['198.51.100.99'] });
    expect(await cells[1]?.sync()).toEqual({ b: ['198.51.100.99'] });
    expect(await cells[2]?.sync()).toEqual({ c: ['203.0.113.11'] });
    expect(cells.map((cell) => cell.shardKeysRead)).toEqual([['app:a'], ['app:b'], []]);
  });

  it('reads all of its shards after a gap in the change log, and after a change logged as `all`', async () => {
    const { store, items } = await setUp();
    await store.write(published(1, [appPolicy('a', own('a'))]));
    const cell = new Cell(store, ['a']);
    await cell.sync();
    for (let version = 2; version <= SHARD_LOG_LENGTH + 2; version += 1) {
      await store.write(published(version, [appPolicy('a', own('a')), appPolicy('x', own(`x${version}`))]));
    }
    // Version 1 fell off the log: the cell cannot tell what changed since.
    await cell.sync();
    expect(cell.changeVersionsRead).toEqual([]);
    expect(cell.shardKeysRead.sort()).toEqual(['app:a', 'global', 'space:space-of-a']);

    // An older entry says `all` (the pointer carries only its own publish's keys).
    const version = SHARD_LOG_LENGTH + 3;
    await store.write(published(version, [appPolicy('a', own('a')), appPolicy('x', own('y'))]));
    await items.writeChanges({ version, epoch: await store.epoch(), keys: 'all' });
    await store.write(published(version + 1, [appPolicy('a', own('a')), appPolicy('x', own('z'))]));
    await cell.sync();
    expect(cell.changeVersionsRead).toEqual([version]);
    expect(cell.shardKeysRead.sort()).toEqual(['app:a', 'global', 'space:space-of-a']);
  });

  it('keeps what it applied when the pointer goes back, and refuses without its copy', async () => {
    const { store } = await setUp();
    await store.write(published(1, [appPolicy('a', own('a'))]));
    const first = await store.readPointer();
    if (first === undefined) throw new Error('version 1 was published');
    await store.write(published(2, [appPolicy('a', own('a', '192.0.2.50'))]));
    const cell = new Cell(store, ['a']);
    expect(await cell.sync()).toEqual({ a: ['192.0.2.50'] });
    // A late writer puts the older pointer back.
    const stale = { ...first, version: 1 };
    const behind: Store = {
      readPointer: async () => stale,
      readShards: (keys) => store.readShards(keys),
      readChanges: (versions) => store.readChanges(versions),
    };
    const kept = new Cell(behind, ['a']);
    kept.applied = cell.applied;
    kept.cached = cell.cached;
    expect(await kept.sync()).toEqual({ a: ['192.0.2.50'] });
    expect(kept.applied?.version).toBe(2);
    const lost = new Cell(behind, ['a']);
    lost.applied = cell.applied;
    lost.cached = Buffer.from('corrupt');
    await expect(lost.sync()).rejects.toBeInstanceOf(OlderSnapshotError);
  });
});
