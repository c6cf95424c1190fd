// The agent's desired state from the table and one convergence run, with a fake table and kernel:
// never back to an older version of the same epoch (even without a usable cache), the state of a new
// epoch whatever its version, and a re-read after a pruned read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { converge } from '../../agent/converge.js';
import type { CommandRunner } from '../../agent/runner.js';
import { desiredSnapshot, OlderSnapshotError, type SnapshotSource } from '../../agent/source/dynamodb.js';
import { AgentState } from '../../agent/state.js';
import type { CellRegistry, CellReport } from '../../core/domain/cells.js';
import { ValidationError } from '../../core/domain/errors.js';
import { buildSnapshot, type EncodedSnapshot, encodeSnapshot } from '../../core/domain/snapshot.js';
import type { SnapshotPointer } from '../../core/domain/snapshot-store.js';
import type { EgressPolicy } from '../../core/domain/types.js';

const work = mkdtempSync(join(tmpdir(), 'agent-converge-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const stateDir = (): string => mkdtempSync(join(work, 'state-'));

const policy = (id: string): EgressPolicy => ({
  id,
  source: { type: 'app', id: 'app-1' },
  destination: {
    id: `dest-${id}`,
    name: `db ${id}`,
    ips: [{ start: '198.51.100.10', end: '198.51.100.10' }],
    ports: [{ start: 3306, end: 3306 }],
    protocol: 'tcp',
  },
});

/** Version n holds policies p1..pn, so an older version has fewer rules. */
const encoded = (version: number): EncodedSnapshot =>
  encodeSnapshot(
    buildSnapshot(
      version,
      Array.from({ length: version }, (_, i) => policy(`p${i + 1}`)),
    ),
  );

const pointerOf = (snapshot: EncodedSnapshot): SnapshotPointer => ({
  version: snapshot.version,
  chunks: 1,
  bytes: snapshot.bytes.length,
  sha256: snapshot.sha256,
  writtenAt: new Date(0).toISOString(),
});

/** A table whose pointer answers come from `pointers` in turn (the last one repeats). */
function fakeTable(pointers: (SnapshotPointer | undefined)[], bytes: (pointer: SnapshotPointer) => Buffer) {
  const reads = { pointer: 0, bytes: 0 };
  const source: SnapshotSource = {
    readPointer: async () => {
      reads.pointer += 1;
      return pointers[Math.min(reads.pointer, pointers.length) - 1];
    },
    readBytes: async (pointer) => {
      reads.bytes += 1;
      return bytes(pointer);
    },
  };
  return { source, reads };
}

const store = new Map<number, Buffer>([1, 2, 3].map((v) => [v, encoded(v).bytes]));
const stored = (pointer: SnapshotPointer): Buffer => store.get(pointer.version) ?? Buffer.alloc(0);
const applied3 = { version: 3, sha256: encoded(3).sha256 };

describe('desiredSnapshot', () => {
  it('keeps the cached snapshot when the pointer is older', async () => {
    const table = fakeTable([pointerOf(encoded(2))], stored);
    const desired = await desiredSnapshot(table.source, applied3, encoded(3).bytes);
    expect([desired.origin, desired.snapshot.version]).toEqual(['cache', 3]);
    expect(table.reads.bytes).toBe(0);
  });

  it.each([
    ['missing', undefined],
    ['corrupt', Buffer.from('not a snapshot')],
    ['another snapshot', encoded(1).bytes],
  ])('refuses an older pointer when the cache is %s, without reading the snapshot', async (_case, cached) => {
    const table = fakeTable([pointerOf(encoded(2))], stored);
    const refused = desiredSnapshot(table.source, applied3, cached);
    await expect(refused).rejects.toBeInstanceOf(OlderSnapshotError);
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toThrow(/refusing policy version 2: this cell already applied version 3/);
    expect(table.reads.bytes).toBe(0);
  });

  it('refuses to fall back to nothing when the pointer is gone and the cache unusable', async () => {
    const table = fakeTable([undefined], stored);
    await expect(desiredSnapshot(table.source, applied3, undefined)).rejects.toThrow(/refusing policy version 0/);
  });

  it('re-reads the same version from the table when the cache is lost', async () => {
    const table = fakeTable([pointerOf(encoded(3))], stored);
    const desired = await desiredSnapshot(table.source, applied3, undefined);
    expect([desired.origin, desired.snapshot.version]).toEqual(['table', 3]);
  });

  it("refuses a pointer whose label is newer than the snapshot's own version", async () => {
    const lying = { ...pointerOf(encoded(2)), version: 9 };
    const table = fakeTable([lying], () => encoded(2).bytes);
    await expect(desiredSnapshot(table.source, applied3, encoded(3).bytes)).rejects.toThrow(OlderSnapshotError);
  });

  it('re-reads the pointer once when the chunks were pruned mid-read, then applies the newer snapshot', async () => {
    // Version 2's chunks are gone by the time they are read: the publisher moved on to 3.
    const table = fakeTable([pointerOf(encoded(2)), pointerOf(encoded(3))], (pointer) =>
      pointer.version === 2 ? Buffer.from('half a snapshot') : stored(pointer),
    );
    const desired = await desiredSnapshot(table.source, undefined, undefined);
    expect([desired.origin, desired.snapshot.version]).toEqual(['table', 3]);
    expect(table.reads).toEqual({ pointer: 2, bytes: 2 });
  });

  it('fails with a checksum error when the second read does not match either', async () => {
    const table = fakeTable([pointerOf(encoded(3))], () => Buffer.from('half a snapshot'));
    await expect(desiredSnapshot(table.source, undefined, undefined)).rejects.toThrow(/checksum mismatch/);
    expect(table.reads).toEqual({ pointer: 2, bytes: 2 });
  });
});

describe('desiredSnapshot across epochs (a restored or recreated table)', () => {
  const inEpoch = (epoch: string | undefined, snapshot: EncodedSnapshot): SnapshotPointer => ({
    ...pointerOf(snapshot),
    ...(epoch === undefined ? {} : { epoch }),
  });
  const appliedIn = (epoch: string | undefined) => ({ ...applied3, ...(epoch === undefined ? {} : { epoch }) });

  it.each([
    ['the cache is usable', encoded(3).bytes],
    ['there is no cache', undefined],
  ])('takes an older version of another epoch when %s', async (_case, cached) => {
    const table = fakeTable([inEpoch('table-b', encoded(2))], stored);
    const desired = await desiredSnapshot(table.source, appliedIn('table-a'), cached);
    expect([desired.origin, desired.snapshot.version, desired.epoch]).toEqual(['table', 2, 'table-b']);
  });

  it('takes the first epoch after a cell applied without one (an upgrade)', async () => {
    const table = fakeTable([inEpoch('table-a', encoded(2))], stored);
    const desired = await desiredSnapshot(table.source, appliedIn(undefined), encoded(3).bytes);
    expect([desired.origin, desired.snapshot.version, desired.epoch]).toEqual(['table', 2, 'table-a']);
  });

  it('still keeps its cache against an older version of its own epoch, and refuses without one', async () => {
    const table = fakeTable([inEpoch('table-a', encoded(2))], stored);
    const kept = await desiredSnapshot(table.source, appliedIn('table-a'), encoded(3).bytes);
    expect([kept.origin, kept.snapshot.version, kept.epoch]).toEqual(['cache', 3, 'table-a']);
    await expect(desiredSnapshot(table.source, appliedIn('table-a'), undefined)).rejects.toThrow(OlderSnapshotError);
    expect(table.reads.bytes).toBe(0);
  });
});

describe('converge', () => {
  const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

  /** A kernel that accepts everything; `onRestore` runs while the rules are being applied. */
  function fakeKernel(onRestore: () => Promise<void> | void = () => undefined) {
    const restores: string[] = [];
    const runner: CommandRunner = async (command, _args, input) => {
      if (command === 'iptables-save') return { code: 0, stdout: EMPTY_FILTER, stderr: '' };
      if (command === 'iptables-restore') {
        restores.push(input ?? '');
        await onRestore();
      }
      return { code: 0, stdout: '', stderr: '' };
    };
    return { runner, restores };
  }

  const containers = [{ ip: '10.255.1.2', appId: 'app-1', spaceId: 'space-1', lifecycle: 'running' as const }];

  it('touches neither the kernel nor the record when it refuses an older snapshot', async () => {
    const dir = stateDir();
    const state = new AgentState(dir);
    await state.recordApplied({ ...applied3, appliedAt: 'then' }, encoded(3).bytes);
    writeFileSync(join(dir, 'snapshot.json.gz'), 'corrupt');
    const kernel = fakeKernel();
    const table = fakeTable([pointerOf(encoded(2))], stored);
    await expect(
      converge({ source: table.source, state, containers, cellName: 'cell', sync: { runner: kernel.runner } }),
    ).rejects.toThrow(OlderSnapshotError);
    expect(kernel.restores).toEqual([]);
    expect(state.applied()?.version).toBe(3);
  });

  it('never lowers the recorded version when a newer run finished first', async () => {
    const dir = stateDir();
    const state = new AgentState(dir);
    // While this run applies version 2, another run records version 3.
    const kernel = fakeKernel(() =>
      new AgentState(dir).recordApplied({ ...applied3, appliedAt: 'x' }, encoded(3).bytes),
    );
    const table = fakeTable([pointerOf(encoded(2))], stored);
    const result = await converge({
      source: table.source,
      state,
      containers,
      cellName: 'cell',
      sync: { runner: kernel.runner },
    });
    expect(result.version).toBe(2);
    expect(state.applied()?.version).toBe(3);
    expect(state.cachedSnapshot()).toEqual(encoded(3).bytes);
  });

  it('records how many sets it applied, and has the next sync grow the kernel’s table of sets when the kernel lacks them', async () => {
    const dir = stateDir();
    const state = new AgentState(dir);
    // A cell whose last apply held 600 sets, on a kernel holding none (a reboot).
    await state.recordApplied({ ...applied3, appliedAt: 'then', sets: 600 }, encoded(3).bytes);
    const ipsetRestores: string[] = [];
    const kernel = fakeKernel();
    const runner: CommandRunner = (command, args, input) => {
      if (command === 'ipset' && args[0] === 'restore') ipsetRestores.push(input ?? '');
      return kernel.runner(command, args, input);
    };
    const table = fakeTable([pointerOf(encoded(3))], stored);
    const result = await converge({ source: table.source, state, containers, cellName: 'cell', sync: { runner } });
    const placeholders = ipsetRestores.join('').match(/^create dyneg-t-grow-/gm) ?? [];
    expect(placeholders).toHaveLength(600);
    expect(state.applied()?.sets).toBe(result.sync.stats.sets);
  });

  it('records the same version again, restoring a lost cache', async () => {
    const dir = stateDir();
    const state = new AgentState(dir);
    await state.recordApplied({ ...applied3, appliedAt: 'then' }, Buffer.from('lost'));
    const table = fakeTable([pointerOf(encoded(3))], stored);
    const result = await converge({
      source: table.source,
      state,
      containers,
      cellName: 'cell',
      sync: { runner: fakeKernel().runner },
    });
    expect([result.origin, result.version]).toEqual(['table', 3]);
    expect(state.cachedSnapshot()).toEqual(encoded(3).bytes);
  });

  it('records the epoch it applied, and from then on refuses older versions of that epoch only', async () => {
    const dir = stateDir();
    const state = new AgentState(dir);
    await state.recordApplied({ ...applied3, appliedAt: 'then', epoch: 'table-a' }, encoded(3).bytes);
    const kernel = fakeKernel();
    const run = (pointer: SnapshotPointer) =>
      converge({
        source: fakeTable([pointer], stored).source,
        state,
        containers,
        cellName: 'cell',
        sync: { runner: kernel.runner },
      });

    const restored = await run({ ...pointerOf(encoded(1)), epoch: 'table-b' });
    expect([restored.origin, restored.version]).toEqual(['table', 1]);
    expect(state.applied()).toMatchObject({ version: 1, epoch: 'table-b', sha256: encoded(1).sha256 });
    expect(state.cachedSnapshot()).toEqual(encoded(1).bytes);
    expect(kernel.restores).toHaveLength(1);

    await expect(run({ ...pointerOf(encoded(2)), epoch: 'table-a' })).resolves.toMatchObject({ version: 2 });
    expect(state.applied()).toMatchObject({ version: 2, epoch: 'table-a' });
    rmSync(join(dir, 'snapshot.json.gz'));
    await expect(run({ ...pointerOf(encoded(1)), epoch: 'table-a' })).rejects.toThrow(OlderSnapshotError);
    expect(state.applied()).toMatchObject({ version: 2, epoch: 'table-a' });
  });

  it('reports when a version was first applied and when the cell last synced', async () => {
    const state = new AgentState(stateDir());
    const reports: CellReport[] = [];
    const registry: CellRegistry = {
      record: async (report) => {
        reports.push(report);
        return true;
      },
      list: async () => reports,
      currentVersion: async () => ({ version: 3, writtenAt: undefined }),
    };
    const table = fakeTable([pointerOf(encoded(2)), pointerOf(encoded(2)), pointerOf(encoded(3))], stored);
    for (const at of ['2026-01-01T00:00:00.000Z', '2026-01-01T00:05:00.000Z', '2026-01-01T00:10:00.000Z']) {
      await converge({
        source: table.source,
        state,
        containers,
        cellName: 'cell',
        registry,
        now: () => new Date(at),
        sync: { runner: fakeKernel().runner },
      });
    }
    expect(reports.map((r) => [r.appliedVersion, r.appliedAt, r.syncedAt])).toEqual([
      [2, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
      [2, '2026-01-01T00:00:00.000Z', '2026-01-01T00:05:00.000Z'],
      [3, '2026-01-01T00:10:00.000Z', '2026-01-01T00:10:00.000Z'],
    ]);
  });
});
