// The one cell agent (CLI `sync --from-dynamodb` and local mode's in-process cells), with a fake table
// and kernel: which kernel each mode touches, what is recorded and reported, and its summary.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CellAgentOptions, createCellAgent } from '../../agent/cell-agent.js';
import { describeChanges } from '../../agent/dry-run-text.js';
import type { CommandRunner } from '../../agent/runner.js';
import type { SnapshotSource } from '../../agent/source/dynamodb.js';
import { AgentState } from '../../agent/state.js';
import type { CellReport } from '../../core/domain/cells.js';
import { ValidationError } from '../../core/domain/errors.js';
import { buildSnapshot, encodeSnapshot } from '../../core/domain/snapshot.js';
import type { EgressPolicy } from '../../core/domain/types.js';
import { containerStore } from './fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'cell-agent-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const policy: EgressPolicy = {
  id: 'p1',
  source: { type: 'app', id: 'app-1' },
  destination: {
    id: 'dest-1',
    name: 'db',
    ips: [{ start: '198.51.100.10', end: '198.51.100.10' }],
    ports: [{ start: 3306, end: 3306 }],
    protocol: 'tcp',
  },
};
const snapshot = encodeSnapshot(buildSnapshot(4, [policy]));
const RULE = '-d 198.51.100.10/32 -p tcp -m tcp --dport 3306 -j ACCEPT';
const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

/** A table holding version 4; counts snapshot reads. */
function fakeTable() {
  const reads = { bytes: 0 };
  const snapshots: SnapshotSource = {
    readPointer: async () => ({
      version: snapshot.version,
      chunks: 1,
      bytes: snapshot.bytes.length,
      sha256: snapshot.sha256,
      writtenAt: new Date(0).toISOString(),
    }),
    readBytes: async () => {
      reads.bytes += 1;
      return snapshot.bytes;
    },
  };
  return { snapshots, reads };
}

/** A kernel without our rules that accepts every change; records each command line. */
function fakeKernel() {
  const calls: string[] = [];
  const runner: CommandRunner = async (command, args) => {
    calls.push([command, ...args].join(' '));
    const save = command === 'iptables-save' || args.includes('iptables-save');
    return { code: 0, stdout: save ? EMPTY_FILTER : '', stderr: '' };
  };
  return { calls, runner };
}

function fakeRegistry() {
  const reports: CellReport[] = [];
  return { reports, registry: { record: async (report: CellReport) => reports.push(report) > 0 } };
}

let cells = 0;
/** A fresh cell: its own state dir and a store with `count` containers of app-1. */
function cell(count = 1) {
  cells += 1;
  const dir = mkdtempSync(join(work, `cell-${cells}-`));
  const containersFile = join(dir, 'store.json');
  const writeStore = (n: number) =>
    writeFileSync(
      containersFile,
      JSON.stringify(
        containerStore(
          Array.from({ length: n }, (_, i) => ({ ip: `10.255.1.${i + 2}`, appId: 'app-1', spaceId: 's' })),
        ),
      ),
    );
  writeStore(count);
  const stateDir = join(dir, 'state');
  return { stateDir, containersFile, writeStore, state: new AgentState(stateDir) };
}

const base = (c: ReturnType<typeof cell>, snapshots: SnapshotSource): Omit<CellAgentOptions, 'mode'> => ({
  snapshots,
  stateDir: c.stateDir,
  cellName: 'cell-a',
  containersFile: c.containersFile,
});

describe('createCellAgent', () => {
  it('apply: programs the kernel, records the version on the cell and reports it', async () => {
    const c = cell(2);
    const table = fakeTable();
    const kernel = fakeKernel();
    const { reports, registry } = fakeRegistry();
    const agent = createCellAgent({ ...base(c, table.snapshots), mode: 'apply', registry, runner: kernel.runner });

    const result = await agent.sync();
    expect(result.summary).toEqual({
      version: 4,
      origin: 'table',
      changed: true,
      applied: true,
      rules: result.sync.stats.rules,
      containers: 2,
      reported: true,
    });
    // The record check's three short reads (whose set headers also name the host sets), then (no
    // record) every rule id, and one transaction.
    expect(kernel.calls).toEqual([
      'iptables -w -S FORWARD',
      'iptables -w -S dyneg-FORWARD',
      'ipset list -t',
      'iptables-save -t filter',
      'iptables-restore -w --noflush',
    ]);
    // The names document for `agent names --from-sync`: no destination with host names here.
    expect(readFileSync(join(c.stateDir, 'host-names.json'), 'utf8')).toBe('{"destinations":[]}\n');
    expect(result.sync.payload).toContain(RULE);
    expect(c.state.applied()?.version).toBe(4);
    expect(reports).toEqual([expect.objectContaining({ name: 'cell-a', appliedVersion: 4, containers: 2 })]);

    // The next sync of the same agent uses the cell's copy and re-reads the containers.
    expect(c.state.applied()?.input).toBe(result.sync.input);
    c.writeStore(3);
    kernel.calls.length = 0;
    const again = await agent.sync();
    expect([again.summary.origin, again.summary.containers, table.reads.bytes]).toEqual(['cache', 3, 1]);
    // The cell's state says the inputs changed since its last apply: no record to read in the kernel.
    expect(kernel.calls).toEqual(['iptables-save -t filter', 'ipset list -t', 'iptables-restore -w --noflush']);
    expect(c.state.applied()?.input).toBe(again.sync.input);
  });

  it('apply with --netns: every kernel command runs inside the namespace', async () => {
    const kernel = fakeKernel();
    const agent = createCellAgent({
      ...base(cell(), fakeTable().snapshots),
      mode: 'apply',
      netns: 'ns-1',
      runner: kernel.runner,
    });
    await agent.sync();
    expect(kernel.calls).toEqual([
      'ip netns exec ns-1 iptables -w -S FORWARD',
      'ip netns exec ns-1 iptables -w -S dyneg-FORWARD',
      'ip netns exec ns-1 ipset list -t',
      'ip netns exec ns-1 iptables-save -t filter',
      'ip netns exec ns-1 iptables-restore -w --noflush',
    ]);
  });

  it('apply without a registry: applied and recorded, not reported', async () => {
    const c = cell();
    const agent = createCellAgent({ ...base(c, fakeTable().snapshots), mode: 'apply', runner: fakeKernel().runner });
    expect((await agent.sync()).summary).toMatchObject({ applied: true, reported: false });
    expect(c.state.applied()?.version).toBe(4);
  });

  it('dry-run: reads the kernel, changes, records and reports nothing', async () => {
    const c = cell();
    const kernel = fakeKernel();
    const { reports, registry } = fakeRegistry();
    const agent = createCellAgent({
      ...base(c, fakeTable().snapshots),
      mode: 'dry-run',
      registry,
      runner: kernel.runner,
    });
    const result = await agent.sync();
    expect(result.summary).toMatchObject({ version: 4, changed: true, applied: false, reported: false });
    expect(result.sync.payload).toContain(RULE);
    expect(kernel.calls).toEqual(['iptables-save -t filter', 'ipset save']);
    expect([reports, c.state.applied()]).toEqual([[], undefined]);
  });

  it("dry-run: the cell's copy of its last apply names what a newer version removes", async () => {
    const c = cell();
    // A kernel that holds what it was last given (a first apply: declared chains, appended rules, the hook).
    let save = EMPTY_FILTER;
    const runner: CommandRunner = async (command, _args, input) => {
      if (command === 'iptables-restore' && input !== undefined) {
        const lines = input.split('\n');
        const hook = lines
          .filter((line) => line.startsWith('-I FORWARD 1 '))
          .map((line) => line.replace(/^-I FORWARD 1 /, '-A FORWARD '));
        const kept = lines.filter((line) => line.startsWith(':') || line.startsWith('-A '));
        save = ['*filter', ':FORWARD ACCEPT [0:0]', ...kept, ...hook, 'COMMIT', ''].join('\n');
      }
      return { code: 0, stdout: command === 'iptables-save' ? save : '', stderr: '' };
    };
    await createCellAgent({ ...base(c, fakeTable().snapshots), mode: 'apply', runner }).sync();
    const cache: EgressPolicy = {
      id: 'p2',
      source: { type: 'app', id: 'app-1' },
      destination: { ...policy.destination, id: 'dest-2', name: 'cache', ports: [{ start: 6379, end: 6379 }] },
    };
    const newer = encodeSnapshot(buildSnapshot(5, [cache]));
    const snapshots: SnapshotSource = {
      readPointer: async () => ({
        version: newer.version,
        chunks: 1,
        bytes: newer.bytes.length,
        sha256: newer.sha256,
        writtenAt: new Date(0).toISOString(),
      }),
      readBytes: async () => newer.bytes,
    };
    const result = await createCellAgent({ ...base(c, snapshots), mode: 'dry-run', runner }).sync();
    const account = describeChanges(result.sync, result.containers, result.previous?.());
    expect(account.split('\n').filter((line) => line.startsWith('#   '))).toEqual([
      '#   + cache (dest-2): tcp 6379 to 198.51.100.10',
      '#   - db (dest-1): tcp 3306 to 198.51.100.10',
    ]);
    expect(c.state.applied()?.version).toBe(4);
  });

  it('render-only: the whole ruleset without any kernel, even in a namespace', async () => {
    const c = cell();
    const kernel = fakeKernel();
    const { reports, registry } = fakeRegistry();
    const agent = createCellAgent({
      ...base(c, fakeTable().snapshots),
      mode: 'render-only',
      registry,
      netns: 'ns-1',
      runner: kernel.runner,
    });
    const result = await agent.sync();
    expect(result.sync.payload).toMatch(/^\*filter\n:dyneg-FORWARD - \[0:0\]\n/);
    expect(result.sync.payload).toContain('-d 10.255.0.0/16 -j RETURN');
    expect(result.summary).toMatchObject({ applied: false, reported: false, containers: 1 });
    expect([kernel.calls, reports, c.state.applied()]).toEqual([[], [], undefined]);
  });

  it('uses the overlay it is given', async () => {
    const agent = createCellAgent({
      ...base(cell(), fakeTable().snapshots),
      mode: 'render-only',
      overlayCidr: '10.0.0.0/8',
    });
    expect((await agent.sync()).sync.payload).toContain('-d 10.0.0.0/8 -j RETURN');
  });

  it('refuses unlisted overlay sources unless told to allow them', async () => {
    const payload = async (unknownSources?: 'reject' | 'allow') =>
      (await createCellAgent({ ...base(cell(), fakeTable().snapshots), mode: 'render-only', unknownSources }).sync())
        .sync.payload ?? '';
    const catchAll = '-s 10.255.0.0/16 -p tcp -j REJECT --reject-with tcp-reset';
    expect(await payload()).toContain(catchAll);
    expect(await payload('reject')).toContain(catchAll);
    expect(await payload('allow')).not.toContain('-s 10.255.0.0/16');
  });

  it('refuses a bad containers file before reading the table or the kernel', async () => {
    const c = cell();
    writeFileSync(c.containersFile, '{"h": {"handle": "h", "ip": "nope"}}');
    const table = fakeTable();
    const kernel = fakeKernel();
    const agent = createCellAgent({ ...base(c, table.snapshots), mode: 'apply', runner: kernel.runner });
    await expect(agent.sync()).rejects.toBeInstanceOf(ValidationError);
    expect([table.reads.bytes, kernel.calls]).toEqual([0, []]);
  });
});
