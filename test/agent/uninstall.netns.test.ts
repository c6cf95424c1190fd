// `agent uninstall` against a real kernel: after a sync (chains, sets, the hook), it leaves no `dyneg-`
// chain, set or jump, and the operator's own rules exactly as they were; twice is fine; --dry-run
// changes nothing. The sync runs from the host with `--netns` and the policies on stdin.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyInterception } from '../../agent/proxy/interception.js';
import { netnsRunner } from '../../agent/runner.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../helpers/lab-cell.js';
import { app, containerStore, policyList, space, tcp } from './fixtures.js';
import { isAgentLine, operatorState as kernelOperatorState } from './kernel-state.js';
import { runAgentCommand } from './run-agent.js';

const EXTERNAL = '198.51.100.10';
const ALLOWED_PORT = 8000;
const OTHER_PORT = 9000;
/** Enough destinations of one service for an ipset (plan.ts: DEFAULT_SET_THRESHOLD). */
const SET_DESTINATIONS = Array.from({ length: 10 }, (_, index) => `192.0.2.${index + 1}`);
/**
 * Three destinations of 28-32 set entries each that the app and the space both use on two ports each:
 * together worth a set each of their own (allow-rules.ts: SET_COST_IN_MEMBERS), listed by a list:set of
 * each source (its two ports' lists are one, content-addressed).
 */
const SHARED_RANGES: [string, string][] = [
  ['85.85.85.85', '170.170.170.170'],
  ['21.85.85.85', '42.170.170.170'],
  ['5.85.85.85', '10.170.170.170'],
];
/** The space's and the app's own sets, the three shared ones, and one list:set each. */
const SETS = 7;

describe.runIf(labAvailable())('agent uninstall on a real cell', () => {
  let lab: Lab;
  let cell: string;
  let container: LabContainer;
  let operatorBaseline: string;
  const dir = mkdtempSync(join(tmpdir(), 'agent-uninstall-'));
  const storeFile = join(dir, 'store.json');
  const policies = JSON.stringify(
    policyList([
      tcp('p1', app('app-a'), [EXTERNAL, EXTERNAL], [ALLOWED_PORT, ALLOWED_PORT]),
      ...[443, 445].flatMap((port) => [
        ...SET_DESTINATIONS.map((ip, index) => tcp(`s${index}-${port}`, space('space-1'), [ip, ip], [port, port])),
        ...SHARED_RANGES.map((range, index) => tcp(`s-wide-${index}-${port}`, space('space-1'), range, [port, port])),
      ]),
      ...[444, 446].flatMap((port) => [
        ...SET_DESTINATIONS.map((ip, index) =>
          tcp(`a${index}-${port}`, app('app-a'), [`${ip}0`, `${ip}0`], [port, port]),
        ),
        ...SHARED_RANGES.map((range, index) => tcp(`a-wide-${index}-${port}`, app('app-a'), range, [port, port])),
      ]),
    ]),
  );

  const operatorState = () => kernelOperatorState(lab, cell);
  /** The sets that are not the agent's, byte for byte as `ipset save` writes them (seeds included). */
  const operatorSets = async () =>
    (await lab.execOk(cell, ['ipset', 'save']))
      .split('\n')
      .filter((line) => !/ dyneg-/.test(line))
      .join('\n');
  let operatorSetsBaseline = '';
  /** Everything of the agent's in the cell's kernel: chains, rules, the hook, sets. */
  const ownedState = async () => {
    const tables = (await lab.execOk(cell, ['iptables-save'])).split('\n').filter(isAgentLine);
    const sets = (await lab.execOk(cell, ['ipset', 'list', '-n'])).split('\n').filter((line) => line.includes('dyneg'));
    return [...tables, ...sets];
  };
  const uninstall = (...flags: string[]) => runAgentCommand(['uninstall', '--netns', cell, ...flags]);

  beforeAll(async () => {
    lab = await createLab({
      tag: 'uninst',
      cells: [{ ips: ['10.255.1.2'] }],
      external: { addresses: [EXTERNAL], tcpPorts: [ALLOWED_PORT, OTHER_PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [container] = containersOf(cellInfo, 1);
    writeFileSync(
      storeFile,
      JSON.stringify(containerStore([{ ip: container.ip, appId: 'app-a', spaceId: 'space-1' }])),
    );
    // Operator rules the agent must never touch: in FORWARD (before and after its hook), their own chain, nat.
    await lab.execOk(cell, ['iptables', '-A', 'FORWARD', '-s', '10.255.9.9', '-j', 'DROP']);
    // A comment that reads like the hook must not be taken for it.
    await lab.execOk(cell, [
      'iptables',
      '-A',
      'FORWARD',
      '-s',
      '10.255.9.7',
      '-m',
      'comment',
      '--comment',
      'see -j dyneg-FORWARD docs',
      '-j',
      'DROP',
    ]);
    // And a log prefix that does.
    await lab.execOk(cell, [
      'iptables',
      '-A',
      'FORWARD',
      '-s',
      '10.255.9.6',
      '-j',
      'LOG',
      '--log-prefix',
      'fw -j dyneg-FORWARD ',
    ]);
    await lab.execOk(cell, ['iptables', '-N', 'OPERATOR-AUDIT']);
    await lab.execOk(cell, ['iptables', '-A', 'OPERATOR-AUDIT', '-p', 'tcp', '--dport', '22', '-j', 'RETURN']);
    await lab.execOk(cell, ['iptables', '-A', 'FORWARD', '-j', 'OPERATOR-AUDIT']);
    await lab.execOk(cell, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-d', '192.0.2.250', '-j', 'ACCEPT']);
    await lab.execOk(cell, ['ipset', 'create', 'operator-set', 'hash:ip']);
    await lab.execOk(cell, ['ipset', 'add', 'operator-set', '192.0.2.7']);
    await lab.execOk(cell, ['ipset', 'create', 'operator-nets', 'hash:net', 'comment']);
    await lab.execOk(cell, ['ipset', 'add', 'operator-nets', '198.51.100.0/25', 'comment', 'not dyneg']);
    operatorBaseline = await operatorState();
    operatorSetsBaseline = await operatorSets();
  }, 60_000);

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await lab?.destroy();
  });

  it('syncs from the host into the namespace, the policies read from stdin', async () => {
    const result = await runAgentCommand(
      ['sync', '--policies', '-', '--containers', storeFile, '--netns', cell],
      policies,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ message: 'rules applied', sets: SETS, setsCreated: SETS });
    const owned = await ownedState();
    expect(owned.filter((line) => line.startsWith('-A FORWARD '))).toEqual([
      expect.stringMatching(/^-A FORWARD -m comment --comment "?dyneg:hook"? -j dyneg-FORWARD$/),
    ]);
    expect(owned.filter((line) => /^dyneg-n-/.test(line))).toHaveLength(5);
    expect(owned.filter((line) => /^dyneg-l-/.test(line))).toHaveLength(2);
    expect(await lab.tcp(container, EXTERNAL, ALLOWED_PORT)).toBe('open');
    expect(await lab.tcp(container, EXTERNAL, OTHER_PORT)).toBe('refused');
    // An operator rule inserted above the hook since: the hook is no longer FORWARD's first rule.
    await lab.execOk(cell, ['iptables', '-I', 'FORWARD', '1', '-s', '10.255.9.8', '-j', 'DROP']);
    // The cell proxy's redirects (a sync with --proxy-dir writes them): the nat table holds ours too.
    await applyInterception(netnsRunner(cell), [
      { source: container.ip, protocol: 'http', ports: { start: 80, end: 80 }, toPort: 15080 },
    ]);
    expect((await ownedState()).filter((line) => line.includes('REDIRECT'))).toHaveLength(1);
    operatorBaseline = await operatorState();
  });

  it('--dry-run lists what would go and changes nothing', async () => {
    const before = await ownedState();
    const result = await uninstall('--dry-run');
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(
      /^\*nat\n:dyneg-PROXY - \[0:0\]\n-D PREROUTING .*-j dyneg-PROXY\n-X dyneg-PROXY\nCOMMIT\n\*filter\n:dyneg-/,
    );
    // The hook is deleted by its text, whatever its position when the transaction runs.
    expect(result.stdout.split('\n').filter((line) => line.startsWith('-D FORWARD'))).toEqual([
      expect.stringMatching(/^-D FORWARD -m comment --comment "?dyneg:hook"? -j dyneg-FORWARD$/),
    ]);
    expect(result.stdout).toMatch(/^-X dyneg-FORWARD$/m);
    expect(result.stdout).toMatch(/^# ipset: destroy dyneg-n-[0-9a-f]{16}$/m);
    expect(await ownedState()).toEqual(before);
  });

  it('removes every chain, set and the hook; the operator’s rules and sets stay as they were', async () => {
    const result = await uninstall();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      message: 'agent uninstalled',
      hooksDeleted: 1,
      proxyRedirectsRemoved: true,
      setsDestroyed: SETS,
    });
    expect(await ownedState()).toEqual([]);
    expect(await operatorState()).toBe(operatorBaseline);
    expect(await operatorSets()).toBe(operatorSetsBaseline);
    expect(operatorSetsBaseline).toContain('add operator-nets 198.51.100.0/25 comment "not dyneg"');
    // Nothing of the agent's filters traffic any more: the port it refused is open.
    expect(await lab.tcp(container, EXTERNAL, OTHER_PORT)).toBe('open');
  });

  it('twice is fine: nothing to remove, exit 0', async () => {
    const dry = await uninstall('--dry-run');
    expect([dry.code, dry.stdout, dry.stderr]).toEqual([0, '# nothing to remove\n', '']);
    const again = await uninstall();
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(JSON.parse(again.stdout)).toMatchObject({ chainsDeleted: 0, hooksDeleted: 0, setsDestroyed: 0 });
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('exit 3 when the kernel cannot be read (no such namespace)', async () => {
    const result = await runAgentCommand(['uninstall', '--netns', 'dl-no-such-ns']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^error: cannot read the filter table: /);
  });
});
