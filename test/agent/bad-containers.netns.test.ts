// Bad container entries and unreadable input files against a real kernel: each is refused with exit 1
// and one escaped, bounded error line, and the rules in force stay exactly the last good ones.
// A `__proto__` handle is a handle like any other: its container gets its rules.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES } from '../../agent/source/read-file.js';
import { containerChain } from '../../core/plan/names.js';
import {
  createLab,
  type ExecResult,
  type Lab,
  type LabContainer,
  labAvailable,
  run,
} from '../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../helpers/lab-cell.js';
import { app, containerStore, policyList, type StoreEntry, tcp } from './fixtures.js';
import { addOperatorRules, operatorState as kernelOperatorState, ownedFilterState } from './kernel-state.js';
import { agentInNetns, runAgent } from './run-agent.js';

const EXTERNAL = '198.51.100.10';
const ALLOWED_PORT = 8000;
const OTHER_PORT = 9000;
const REFUSED = /^error: invalid input, rules unchanged: /;

describe.runIf(labAvailable())('bad container entries and input files on a real cell', () => {
  let lab: Lab;
  let cell: string;
  let c0: LabContainer; // app-a: allowed to EXTERNAL:ALLOWED_PORT
  let c1: LabContainer; // app-b: no policy
  let c2: LabContainer; // in the store only as `__proto__`
  let entries: StoreEntry[];
  let operatorBaseline: string;
  let lastGood: string;
  const dir = mkdtempSync(join(tmpdir(), 'agent-bad-containers-'));
  const policies = policyList([tcp('p-a', app('app-a'), [EXTERNAL, EXTERNAL], [ALLOWED_PORT, ALLOWED_PORT])]);
  const policiesFile = join(dir, 'policies.json');
  const storeFile = join(dir, 'store.json');

  const operatorState = () => kernelOperatorState(lab, cell);
  const ownedState = () => ownedFilterState(lab, cell);

  /** The agent on paths given as they are (FIFOs, directories); `timeout` turns a hang into exit 124. */
  const runOnPaths = (policiesPath: string, containersPath: string): Promise<ExecResult> =>
    run(['timeout', '20', ...agentInNetns(cell, ['sync', '--policies', policiesPath, '--containers', containersPath])]);

  /** One refused run: exit 1, one line naming the problem, nothing escaped raw. */
  const expectRefused = (result: ExecResult, message: RegExp | string, name: string) => {
    expect(result.code, name).toBe(1);
    expect(result.stderr, name).toMatch(REFUSED);
    expect(result.stderr, name).toMatch(message);
    expect(result.stderr.trim().split('\n'), name).toHaveLength(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is that none is printed
    expect(result.stderr.trimEnd(), name).not.toMatch(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
  };

  /** The rules in force are the last good ones, and they still do what they did. */
  const expectLastGoodRules = async () => {
    expect(await ownedState()).toBe(lastGood);
    expect(await lab.tcp(c0, EXTERNAL, ALLOWED_PORT)).toBe('open');
    expect(await lab.tcp(c1, EXTERNAL, ALLOWED_PORT)).toBe('refused');
  };

  /** Runs the cases two at a time (each is an agent process) and checks each is refused. */
  const refuseAll = async (cases: readonly [string, () => Promise<ExecResult>, RegExp | string][]) => {
    for (let index = 0; index < cases.length; index += 2) {
      const batch = cases.slice(index, index + 2);
      const results = await Promise.all(batch.map(([, start]) => start()));
      for (const [offset, [name, , message]] of batch.entries()) {
        const result = results[offset];
        if (result === undefined) throw new Error(`no result for ${name}`);
        expectRefused(result, message, name);
      }
    }
  };

  /** The good store's text with one more entry appended verbatim (a repeated handle, a bad ip). */
  const storeWith = (extra: string) => `${JSON.stringify(containerStore(entries)).slice(0, -1)}, ${extra}}`;
  const entryText = (handle: string, ip: string, appId = 'app-b') =>
    `${JSON.stringify(handle)}: ${JSON.stringify({ handle, ip, metadata: { app_id: appId, space_id: 'space-1' } })}`;

  beforeAll(async () => {
    lab = await createLab({
      tag: 'badstore',
      cells: [{ ips: ['10.255.1.2', '10.255.1.3', '10.255.1.20'] }],
      external: { addresses: [EXTERNAL], tcpPorts: [ALLOWED_PORT, OTHER_PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [c0, c1, c2] = containersOf(cellInfo, 3);
    entries = [
      { ip: c0.ip, appId: 'app-a', spaceId: 'space-1' },
      { ip: c1.ip, appId: 'app-b', spaceId: 'space-1' },
    ];
    writeFileSync(policiesFile, JSON.stringify(policies));
    writeFileSync(storeFile, JSON.stringify(containerStore(entries)));
    await addOperatorRules(lab, cell);
    operatorBaseline = await operatorState();
    const good = await runAgent(cell, policies, containerStore(entries));
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    lastGood = await ownedState();
  });

  // Whatever a test did, the operator's own rules (every table) are exactly as before; and a test that
  // failed after changing the agent's rules does not leave them to the next one.
  afterEach(async () => {
    if (lab === undefined) return;
    try {
      expect(await operatorState()).toBe(operatorBaseline);
    } finally {
      if ((await ownedState()) !== lastGood) await runAgent(cell, policies, containerStore(entries));
    }
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await lab?.destroy();
  });

  it('refuses a container outside the overlay or on its network or broadcast address', async () => {
    const outside = (
      ip: string,
      reason: string,
      handle = 'bad-handle',
    ): [string, () => Promise<ExecResult>, string] => [
      ip,
      () => runAgent(cell, policies, storeWith(entryText(handle, ip))),
      `--containers: ${JSON.stringify(handle)}.ip: ${ip} ${reason}`,
    ];
    await refuseAll([
      outside('8.8.8.8', 'is outside the overlay 10.255.0.0/16'),
      outside('127.0.0.1', 'is outside the overlay 10.255.0.0/16'),
      outside('224.0.0.1', 'is outside the overlay 10.255.0.0/16'),
      outside('10.255.0.0', 'is the network address of the overlay 10.255.0.0/16'),
      outside('10.255.255.255', 'is the broadcast address of the overlay 10.255.0.0/16'),
      [
        'an address outside a configured --overlay-cidr',
        () => runAgent(cell, policies, storeWith(entryText('h-20', c2.ip)), ['--overlay-cidr', '10.255.1.0/28']),
        `--containers: "h-20".ip: ${c2.ip} is outside the overlay 10.255.1.0/28`,
      ],
    ]);
    await expectLastGoodRules();
  });

  it('refuses a handle listed twice, and a key repeated inside an entry', async () => {
    const [firstHandle = ''] = Object.keys(containerStore(entries));
    await refuseAll([
      [
        'a handle listed twice (JSON.parse keeps the last)',
        () => runAgent(cell, policies, storeWith(entryText(firstHandle, c2.ip, 'app-a'))),
        `--containers: key ${JSON.stringify(firstHandle)} appears twice`,
      ],
      [
        'ip twice in one entry',
        () =>
          runAgent(
            cell,
            policies,
            `{"h": {"handle": "h", "ip": "${c2.ip}", "ip": "8.8.8.8", "metadata": {"app_id": "a", "space_id": "s"}}}`,
          ),
        '--containers: h: key "ip" appears twice',
      ],
    ]);
    await expectLastGoodRules();
  });

  it('refuses a FIFO, a directory or an oversized file as either input, without waiting', async () => {
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_INPUT_BYTES + 1); // sparse
    await refuseAll([
      [
        'FIFO as --containers',
        () => runOnPaths(policiesFile, fifo),
        /--containers: ".*fifo\.json" is a FIFO, not a regular file/,
      ],
      [
        'FIFO as --policies',
        () => runOnPaths(fifo, storeFile),
        /--policies: ".*fifo\.json" is a FIFO, not a regular file/,
      ],
      [
        'directory as --containers',
        () => runOnPaths(policiesFile, dir),
        /--containers: ".*" is a directory, not a regular file/,
      ],
      ['oversized --containers', () => runOnPaths(policiesFile, huge), `is larger than ${MAX_INPUT_BYTES} bytes`],
      ['oversized --policies', () => runOnPaths(huge, storeFile), `is larger than ${MAX_INPUT_BYTES} bytes`],
    ]);
    await expectLastGoodRules();
  });

  it('escapes control characters it quotes and lists a few problems of many', async () => {
    const many = policyList(
      Array.from({ length: 20_000 }, (_, index) => tcp(`p-${index}`, app('app-a'), [EXTERNAL, EXTERNAL], [1, 70_000])),
    );
    const [escaped, limited] = await Promise.all([
      runAgent(cell, policies, storeWith(entryText('evil\u001b]0;owned\u0007\u001b[2J\u202e', '8.8.8.8'))),
      runAgent(cell, many, containerStore(entries)),
    ]);
    expectRefused(
      escaped,
      '--containers: "evil\\u001b]0;owned\\u0007\\u001b[2J\\u202e".ip: 8.8.8.8 is outside the overlay',
      'a terminal escape in a handle',
    );
    expectRefused(limited, /^(?:[^;]*; ){5}…and [\d,]+ more$/m, '20,000 bad ports');
    expect(limited.stderr.length).toBeLessThan(1000);
    // Any error line, not only invalid input: a usage error quoting a long argument with a bidi override.
    const usage = await runAgent(cell, policies, containerStore(entries), [
      '--overlay-cidr',
      `\u202e${'9'.repeat(5000)}`,
    ]);
    expect(usage.code).toBe(2);
    const [line = ''] = usage.stderr.split('\n');
    expect(line).toMatch(/^error: --overlay-cidr: .*"\\u202e9{10}.*… \(\d+ more characters\)$/);
    expect(line.length).toBeLessThan(3100);
    expect(line).not.toContain('\u202e');
    await expectLastGoodRules();
  });

  it('programs a container whose handle is __proto__ like any other', async () => {
    try {
      const store = storeWith(entryText('__proto__', c2.ip, 'app-a'));
      const result = await runAgent(cell, policies, store);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const dispatch = `-s ${c2.ip.replaceAll('.', '\\.')}/32 .*-j ${containerChain(c2.ip)}$`;
      expect(await ownedState()).toMatch(new RegExp(dispatch, 'm'));
      expect(await lab.tcp(c2, EXTERNAL, ALLOWED_PORT)).toBe('open'); // app-a's policy
      expect(await lab.tcp(c2, EXTERNAL, OTHER_PORT)).toBe('refused'); // its own default deny
    } finally {
      const back = await runAgent(cell, policies, containerStore(entries));
      expect(back.code).toBe(0);
    }
    await expectLastGoodRules();
  });
});
