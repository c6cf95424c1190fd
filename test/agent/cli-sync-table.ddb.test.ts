// `agent sync --from-dynamodb` in-process against DynamoDB Local, with a fake kernel: its summary
// log line, its report to the table, and the same ruleset as local mode's in-process cell.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT_INVALID_INPUT, EXIT_OK, runCli } from '../../agent/cli.js';
import { parseAgentArgs } from '../../agent/cli-args.js';
import { EXIT_APPLY_FAILED, reportFailure } from '../../agent/cli-failure.js';
import { syncFromTable, TABLE_CLIENT_TIMEOUTS, tableClient } from '../../agent/cli-sync-table.js';
import type { CommandRunner } from '../../agent/runner.js';
import { SyncMemory } from '../../agent/sync-memory.js';
import { readSyncedLine } from '../../agent/sync-summary.js';
import { DynamoDbCellStatusStore } from '../../core/store/cell-status-store.js';
import { DynamoDbPolicyStore } from '../../core/store/dynamodb-policy-store.js';
import { DynamoDbSnapshotStore } from '../../core/store/snapshot-store.js';
import { documentClient } from '../../core/store/table-stores.js';
import { publishSnapshot } from '../../lambdas/fanout/snapshot-publisher.js';
import { inProcessAgentRunner } from '../../local/cells/agent-in-process.js';
import { dryRunCell, EXAMPLE_APP_ID } from '../../local/cells/dry-run-cell.js';
import { createTestTable, stubAgentTableEnv, type TestTable } from '../helpers/ddb.js';
import { tcpDestination } from '../helpers/fixtures.js';
import { publishedState } from '../helpers/published-state.js';
import { startSilentTable } from '../helpers/silent-table.js';

const work = mkdtempSync(join(tmpdir(), 'agent-cli-ddb-'));
let table: TestTable;
let version: number;

beforeAll(async () => {
  table = await createTestTable();
  // The agent builds its client from the environment, as on a cell.
  stubAgentTableEnv(table);
  const documents = documentClient(table.client);
  const policies = new DynamoDbPolicyStore({ client: documents, tableName: table.tableName });
  const [db] = await policies.createDestinations([tcpDestination('cli-db')]);
  await policies.createEgressPolicies([
    { source: { type: 'app', id: EXAMPLE_APP_ID }, destination: { id: db?.id ?? '' } },
  ]);
  ({ version } = await publishSnapshot(
    publishedState(policies, documents, table.tableName),
    new DynamoDbSnapshotStore(documents, table.tableName),
  ));
});

afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(work, { recursive: true, force: true });
});

async function cli(args: readonly string[], runner?: CommandRunner, tableName = table.tableName) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['sync', '--from-dynamodb', '--table', tableName, ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    ...(runner === undefined ? {} : { runner }),
  });
  return { code, stdout, stderr };
}

/** stdout's lines before the summary, and the summary line parsed as plain JSON. */
function split(stdout: string): { preview: string; last: Record<string, unknown> } {
  const lines = stdout.trimEnd().split('\n');
  const last: unknown = JSON.parse(lines.at(-1) ?? '');
  if (typeof last !== 'object' || last === null) throw new Error(`not a JSON object: ${lines.at(-1)}`);
  return { preview: lines.slice(0, -1).join('\n'), last: { ...last } };
}

describe('agent sync --from-dynamodb', () => {
  it('renders what local mode’s in-process cell renders, and ends with the summary in the log shape', async () => {
    const store = dryRunCell(work);
    const result = await cli([
      '--containers',
      store.containers,
      '--state-dir',
      join(work, 'cli-state'),
      '--cell-name',
      'dry-run',
      '--render-only',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT_OK);
    const { preview, last } = split(result.stdout);
    expect(last).toEqual({
      level: 'INFO',
      message: 'cell synced',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'dynamic-egress-agent',
      version,
      origin: 'table',
      changed: true,
      applied: false,
      rules: expect.any(Number),
      containers: 1,
      reported: false,
      // What changed and how long it took (sync-summary.ts `changes`): render-only writes everything anew.
      sets: expect.any(Number),
      chainsCreated: expect.any(Number),
      chainsDeleted: 0,
      rulesWritten: last.rules,
      rulesDeleted: 0,
      setsCreated: expect.any(Number),
      setsDestroyed: 0,
      durationMs: expect.any(Number),
    });
    // Local mode decodes the same line.
    expect(readSyncedLine(result.stdout.trimEnd().split('\n').at(-1) ?? '')).toMatchObject({
      version,
      rules: last.rules,
    });

    const inProcess = inProcessAgentRunner({
      dynamodb: table.client,
      tableName: table.tableName,
      stateRoot: join(work, 'in-process'),
    });
    const local = await inProcess(store, version);
    expect(local).toEqual({ ok: true, version, output: `would apply:\n${preview}\n` });
  });

  it('applies through the namespace, records on the cell and reports to the table', async () => {
    const calls: string[] = [];
    const runner: CommandRunner = async (command, args) => {
      calls.push([command, ...args].join(' '));
      const save = args.includes('iptables-save');
      return { code: 0, stdout: save ? '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' : '', stderr: '' };
    };
    const stateDir = join(work, 'apply-state');
    const args = ['--containers', dryRunCell(work).containers, '--state-dir', stateDir, '--cell-name', 'cell-7'];
    const result = await cli([...args, '--netns', 'ns-7', '--min-version', String(version)], runner);
    expect([result.code, result.stderr]).toEqual([EXIT_OK, '']);
    expect(split(result.stdout)).toEqual({
      preview: '',
      last: expect.objectContaining({ version, origin: 'table', changed: true, applied: true, reported: true }),
    });
    expect(calls).toEqual([
      'ip netns exec ns-7 iptables -w -S FORWARD',
      'ip netns exec ns-7 iptables -w -S dyneg-FORWARD',
      'ip netns exec ns-7 ipset list -t',
      'ip netns exec ns-7 iptables-save -t filter',
      'ip netns exec ns-7 iptables-restore -w --noflush',
    ]);
    expect(JSON.parse(readFileSync(join(stateDir, 'applied.json'), 'utf8'))).toMatchObject({ version });
    // The names document the host-name refresh follows (none here).
    expect(readFileSync(join(stateDir, 'host-names.json'), 'utf8')).toBe('{"destinations":[]}\n');
    const cells = await new DynamoDbCellStatusStore(documentClient(table.client), table.tableName).list();
    expect(cells).toEqual([expect.objectContaining({ name: 'cell-7', appliedVersion: version })]);

    // Asked for a version the table does not have yet: a warning, and the version it has, from the cell's copy.
    const ahead = await cli([...args, '--netns', 'ns-7', '--min-version', String(version + 1)], runner);
    expect(ahead.code).toBe(EXIT_OK);
    expect(ahead.stderr).toBe(
      `warning: asked for policy version >= ${version + 1}, the table offers ${version}; applied that\n`,
    );
    expect(split(ahead.stdout).last).toMatchObject({ version, origin: 'cache' });
  });

  it('takes the state of a new table although its versions start again (an in-memory restart, a restore)', async () => {
    const runner: CommandRunner = async (command, args) => {
      const save = args.includes('iptables-save') || command === 'iptables-save';
      return { code: 0, stdout: save ? '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' : '', stderr: '' };
    };
    const stateDir = join(work, 'epoch-state');
    const args = ['--containers', dryRunCell(work).containers, '--state-dir', stateDir, '--cell-name', 'cell-8'];
    expect((await cli(args, runner)).code).toBe(EXIT_OK);
    const before = JSON.parse(readFileSync(join(stateDir, 'applied.json'), 'utf8')) as { epoch?: string };
    expect(before).toMatchObject({ version, epoch: expect.stringMatching(/^created-/) });

    // The same cell, its state kept, meets a new table with no policy yet: version 0 of a new epoch.
    const fresh = await createTestTable();
    const freshSnapshots = new DynamoDbSnapshotStore(documentClient(fresh.client), fresh.tableName);
    const policies = new DynamoDbPolicyStore({ client: documentClient(fresh.client), tableName: fresh.tableName });
    expect(
      await publishSnapshot(publishedState(policies, documentClient(fresh.client), fresh.tableName), freshSnapshots),
    ).toEqual({ version: 0, written: true, how: 'whole' });
    const result = await cli(args, runner, fresh.tableName);
    expect([result.code, result.stderr]).toEqual([EXIT_OK, '']);
    expect(split(result.stdout).last).toMatchObject({ version: 0, origin: 'table', changed: true, applied: true });
    const after = JSON.parse(readFileSync(join(stateDir, 'applied.json'), 'utf8')) as { epoch?: string };
    expect(after).toMatchObject({ version: 0, epoch: await freshSnapshots.epoch() });
    expect(after.epoch).not.toBe(before.epoch);
  });

  it('--dry-run reads the kernel and prints the readable account, then the payload, then the summary', async () => {
    const runner: CommandRunner = async (command) => ({
      code: 0,
      stdout: command === 'iptables-save' ? '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' : '',
      stderr: '',
    });
    const store = dryRunCell(work);
    const args = ['--containers', store.containers, '--state-dir', join(work, 'dry-state'), '--cell-name', 'c'];
    const result = await cli([...args, '--dry-run'], runner);
    expect([result.code, result.stderr]).toEqual([EXIT_OK, '']);
    const { preview, last } = split(result.stdout);
    const [account = '', payload = ''] = preview.split(/(?=^\*filter$)/m);
    expect(account).toMatch(/^# would change:\n/);
    expect(account).toMatch(
      new RegExp(`^# created dyneg-a-[0-9a-f]{16}: app ${EXAMPLE_APP_ID} \\(allow list\\); `, 'm'),
    );
    expect(account.split('\n').every((line) => line === '' || line.startsWith('#'))).toBe(true);
    expect(payload).toMatch(/^\*filter\n:dyneg-FORWARD - \[0:0\]\n[\s\S]*COMMIT$/);
    expect(last).toMatchObject({ applied: false, changed: true, version });
  });

  it('refuses a missing containers file: exit 1, one line', async () => {
    const missing = join(work, 'missing.json');
    const result = await cli(['--containers', missing, '--state-dir', join(work, 's3'), '--cell-name', 'c']);
    expect(result.code).toBe(EXIT_INVALID_INPUT);
    expect(result.stderr).toBe(
      `error: invalid input, rules unchanged: --containers: cannot read ${JSON.stringify(missing)}: ENOENT\n`,
    );
    expect(result.stdout).toBe('');
  });

  it('gives up on a table that accepts connections and never answers: exit 3, rules unchanged, nothing recorded', async () => {
    const silent = await startSilentTable();
    // The client reads its endpoint from the environment (when it first sends), as on a cell.
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', silent.endpoint);
    const client = tableClient({ connectMs: 500, idleMs: 200 });
    const stateDir = join(work, 'silent-state');
    const kernel: string[] = [];
    let stderr = '';
    const io = {
      stdout: () => undefined,
      stderr: (text: string) => {
        stderr += text;
      },
      runner: async (command: string) => {
        kernel.push(command);
        return { code: 0, stdout: '', stderr: '' };
      },
    };
    const command = parseAgentArgs([
      'sync',
      '--from-dynamodb',
      '--table',
      table.tableName,
      '--containers',
      dryRunCell(work).containers,
      '--state-dir',
      stateDir,
      '--cell-name',
      'silent',
    ]);
    if (command.command !== 'sync --from-dynamodb') throw new Error(`parsed as ${command.command}`);
    const started = performance.now();
    try {
      const code = await syncFromTable(command, io, { client, memory: new SyncMemory() }).then(
        () => EXIT_OK,
        (error: unknown) => reportFailure(error, io),
      );
      expect(code).toBe(EXIT_APPLY_FAILED);
      expect(stderr).toMatch(
        /^error: cannot read the policy table, rules unchanged: .*timed out after 200 ms of inactivity.*\n$/,
      );
      // Five attempts of 200 ms and their backoff, not the step's minutes.
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(kernel).toEqual([]);
      expect(existsSync(join(stateDir, 'applied.json'))).toBe(false);
    } finally {
      stubAgentTableEnv(table);
      client.destroy();
      silent.close();
    }
  });

  it("fails a silent table by default inside the shortest step timeout the stack allows (CellAgent's syncTimeout, 30 s)", () => {
    const { connectMs, idleMs } = TABLE_CLIENT_TIMEOUTS;
    expect(Math.min(connectMs, idleMs)).toBeGreaterThan(0);
    // Five attempts, each a slow connect and then silence, and the standard retry's backoff (at most 3.1 s).
    expect(5 * (connectMs + idleMs) + 3_100).toBeLessThan(30_000);
  });
});
