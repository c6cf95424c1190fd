// The CLI in-process with a fake dataplane: argument handling, exit codes, dry run, one-line errors.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_APPLY_FAILED, EXIT_INVALID_INPUT, EXIT_OK, EXIT_USAGE, runCli } from '../../agent/cli.js';
import { parseAgentArgs } from '../../agent/cli-args.js';
import type { CommandRunner } from '../../agent/runner.js';
import { app, containerStore, policyList, tcp } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};
const policies = file('policies.json', policyList([tcp('p1', app('a'), ['198.51.100.1', '198.51.100.1'], [443, 443])]));
const store = file('store.json', containerStore([{ ip: '10.255.1.2', appId: 'a', spaceId: 's' }]));
/** The record check (agent/applied-record.ts) before anything is parsed. */
const RECORD_READS = ['iptables -w -S FORWARD', 'iptables -w -S dyneg-FORWARD', 'ipset list -t'];
const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

function fakeKernel(restoreCode = 0) {
  const calls: string[] = [];
  const runner: CommandRunner = async (command, args, input) => {
    calls.push([command, ...args].join(' '));
    if (command === 'iptables-save') return { code: 0, stdout: EMPTY_FILTER, stderr: '' };
    if (command === 'ipset') return { code: 0, stdout: '', stderr: '' };
    return restoreCode === 0 || input === undefined
      ? { code: 0, stdout: '', stderr: '' }
      : { code: restoreCode, stdout: '', stderr: 'iptables-restore: line 2 failed\n' };
  };
  return { calls, runner };
}

async function cli(argv: string[], runner: CommandRunner, stdin?: AsyncIterable<Uint8Array | string>) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    runner,
    ...(stdin === undefined ? {} : { stdin }),
  });
  return { code, stdout, stderr };
}

/** The one JSON log line an apply ends with. */
function summaryOf(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  const value: unknown = JSON.parse(lines[0] ?? '');
  if (typeof value !== 'object' || value === null) throw new Error(`not an object: ${stdout}`);
  return { ...value };
}

describe('agent cli', () => {
  it('syncs: reads the kernel, then one iptables-restore -w --noflush', async () => {
    const kernel = fakeKernel();
    const result = await cli(['sync', '--policies', policies, '--containers', store], kernel.runner);
    expect([result.code, result.stderr]).toEqual([EXIT_OK, '']);
    // The record check's three short reads (its set headers also name the host sets, so they are not
    // listed again after the restore), then (no record) every rule id, and one transaction.
    expect(kernel.calls).toEqual([...RECORD_READS, 'iptables-save -t filter', 'iptables-restore -w --noflush']);
  });

  it('ends an apply with one summary line: which policies, rules, sets, what changed, time taken', async () => {
    const result = await cli(['sync', '--policies', policies, '--containers', store], fakeKernel().runner);
    expect(summaryOf(result.stdout)).toEqual({
      level: 'INFO',
      message: 'rules applied',
      timestamp: expect.stringMatching(/Z$/),
      service: 'dynamic-egress-agent',
      policiesSha256: createHash('sha256').update(readFileSync(policies)).digest('hex'),
      changed: true,
      applied: true,
      rules: expect.any(Number),
      containers: 1,
      sets: 0,
      chainsCreated: expect.any(Number),
      chainsDeleted: 0,
      rulesWritten: expect.any(Number),
      rulesDeleted: 0,
      setsCreated: 0,
      setsDestroyed: 0,
      durationMs: expect.any(Number),
    });
    const summary = summaryOf(result.stdout);
    // Root, dispatch /24 and /28, the container's chain and its app's: all new, every rule written.
    expect([summary.chainsCreated, summary.rulesWritten]).toEqual([5, summary.rules]);
  });

  it('--policies - reads the policies from stdin', async () => {
    const kernel = fakeKernel();
    const text = JSON.stringify(policyList([tcp('p1', app('a'), ['198.51.100.7', '198.51.100.7'], [22, 22])]));
    const stdin = Readable.from([Buffer.from(text.slice(0, 10)), Buffer.from(text.slice(10))]);
    const result = await cli(['sync', '--policies', '-', '--containers', store, '--dry-run'], kernel.runner, stdin);
    expect([result.code, result.stderr]).toEqual([EXIT_OK, '']);
    expect(result.stdout).toContain('-d 198.51.100.7/32 -p tcp -m tcp --dport 22 -j ACCEPT');
  });

  it('--policies - refuses input that is not a policies document, or no stdin at all', async () => {
    const bad = await cli(
      ['sync', '--policies', '-', '--containers', store],
      fakeKernel().runner,
      Readable.from(['[']),
    );
    expect(bad.code).toBe(EXIT_INVALID_INPUT);
    expect(bad.stderr).toMatch(/^error: invalid input, rules unchanged: --policies: /);
    const none = await cli(['sync', '--policies', '-', '--containers', store], fakeKernel().runner);
    expect(none.stderr).toBe('error: invalid input, rules unchanged: --policies: no standard input to read\n');
  });

  it('--netns programs that namespace', async () => {
    const kernel = fakeKernel();
    const result = await cli(['sync', '--policies', policies, '--containers', store, '--netns', 'c1'], kernel.runner);
    expect(result.code).toBe(EXIT_OK);
    expect(kernel.calls).toEqual([
      ...RECORD_READS.map((call) => `ip netns exec c1 ${call}`),
      'ip netns exec c1 iptables-save -t filter',
      'ip netns exec c1 iptables-restore -w --noflush',
    ]);
  });

  it.each([
    [['--help']],
    [['sync', '--help']],
    [['sync', '--from-dynamodb', '--help']],
    [['sync', '--from-cache', '--help']],
    [['serve', '--help']],
    [['uninstall', '--help']],
    [['logs', '--help']],
    [['ulogd-config', '--help']],
    [['names', '--help']],
  ])('%j prints help on stdout, exit 0, touches nothing', async (argv) => {
    const kernel = fakeKernel();
    const result = await cli(argv, kernel.runner);
    expect([result.code, result.stderr]).toEqual([EXIT_OK, '']);
    expect(result.stdout).toMatch(/^usage: agent /);
    expect(result.stdout).toMatch(/\n$/);
    expect(kernel.calls).toEqual([]);
  });

  it('--dry-run prints the payload and writes nothing', async () => {
    const kernel = fakeKernel();
    const result = await cli(['sync', '--policies', policies, '--containers', store, '--dry-run'], kernel.runner);
    expect(result.code).toBe(EXIT_OK);
    // A readable account first, every line a comment; then the payload as applied.
    const [account = '', payload = ''] = result.stdout.split(/(?=^\*filter$)/m);
    expect(account.split('\n').filter((line) => line !== '' && !line.startsWith('# '))).toEqual(['#']);
    expect(account).toContain('# created dyneg-FORWARD: entry chain (every overlay source); ');
    expect(account).toMatch(
      /^# created dyneg-c-[0-9a-f]{16}: container 10\.255\.1\.2 \(app a, space s, organization org-1, running\); 5 rules written$/m,
    );
    expect(account).toMatch(/^# created dyneg-a-[0-9a-f]{16}: app a \(allow list\); 1 rules written$/m);
    expect(account).toContain('# insert the jump FORWARD -> dyneg-FORWARD\n');
    expect(payload).toMatch(/^\*filter\n:dyneg-FORWARD - \[0:0\]\n/);
    expect(result.stdout).toContain('-d 198.51.100.1/32 -p tcp -m tcp --dport 443 -j ACCEPT');
    expect(result.stdout).toMatch(/COMMIT\n$/);
    expect(kernel.calls).toEqual(['iptables-save -t filter', 'ipset save']);
  });

  it('uses --overlay-cidr for the not-egress return', async () => {
    const result = await cli(
      ['sync', '--policies', policies, '--containers', store, '--dry-run', '--overlay-cidr', '10.0.0.0/8'],
      fakeKernel().runner,
    );
    expect(result.stdout).toContain('-d 10.0.0.0/8 -j RETURN');
  });

  it.each([
    [[], /missing command/],
    [['apply'], /unknown command "apply"/],
    [['sync', '--containers', 'x'], /--policies FILE is required/],
    [['sync', '--policies', 'x'], /--containers FILE is required/],
    [['sync', '--policies', 'x', '--containers', 'y', '--bogus'], /Unknown option '--bogus'/],
    [['sync', '--policies', 'x', '--containers', 'y', '--overlay-cidr', 'ten'], /--overlay-cidr: must be an IPv4 CIDR/],
  ])('usage error for %j', async (argv, message) => {
    const kernel = fakeKernel();
    const result = await cli(argv, kernel.runner);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toMatch(/^error: /);
    expect(result.stderr).toMatch(message);
    expect(kernel.calls).toEqual([]);
  });

  it('invalid input: exit 1, one line, the kernel only read (the record check, the rules read while parsing), never written', async () => {
    const kernel = fakeKernel();
    const bad = file('bad.json', '{"total_egress_policies": 0, "egress_policies": "nope"}');
    const result = await cli(['sync', '--policies', bad, '--containers', store], kernel.runner);
    expect(result.code).toBe(EXIT_INVALID_INPUT);
    expect(result.stderr).toBe(
      'error: invalid input, rules unchanged: --policies: egress_policies: must be an array\n',
    );
    expect(kernel.calls).toEqual([...RECORD_READS, 'iptables-save -t filter']);
  });

  it('apply failure: exit 3 with the tool message', async () => {
    const result = await cli(['sync', '--policies', policies, '--containers', store], fakeKernel(4).runner);
    expect(result.code).toBe(EXIT_APPLY_FAILED);
    expect(result.stderr).toBe(
      'error: iptables-restore failed (exit 4), rules unchanged: iptables-restore: line 2 failed\n',
    );
  });

  it('parses flags', () => {
    expect(parseAgentArgs(['sync', '--policies', 'p', '--containers', 'c'])).toEqual({
      command: 'sync',
      policies: 'p',
      containers: 'c',
      overlayCidr: '10.255.0.0/16',
      unknownSources: 'reject',
      verify: 'cheap',
      denyLog: { group: 100, rate: { count: 1, per: 'second' } },
      denyNetworks: { always: [], running: [], staging: [] },
      dryRun: false,
      netns: undefined,
    });
  });
});

describe('agent names', () => {
  const noHosts = file('names.json', { destinations: [{ id: 'classic' }] });
  const names = (...flags: string[]) => [
    'names',
    '--names',
    noHosts,
    '--state-dir',
    join(dir, 'names-state'),
    ...flags,
  ];

  it('--once: one pass, one line saying what it did and when the next pass is due', async () => {
    const { calls, runner } = fakeKernel();
    const { code, stdout, stderr } = await cli(names('--once', '--nameservers', '192.0.2.53'), runner);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    expect(summaryOf(stdout)).toMatchObject({ message: 'names refreshed', names: 0, sets: 0, nextDelayMs: 300_000 });
    expect(calls).toEqual(['ipset list -n']);
  });

  it('exit 1 for a names file that is not one, before touching the kernel', async () => {
    const { calls, runner } = fakeKernel();
    const bad = file('bad-names.json', { destinations: [{ id: 'd', hosts: ['*.example.com'] }] });
    const result = await cli(
      ['names', '--names', bad, '--state-dir', dir, '--once', '--nameservers', '192.0.2.53'],
      runner,
    );
    expect(result.code).toBe(EXIT_INVALID_INPUT);
    expect(result.stderr).toBe(
      'error: invalid input, rules unchanged: --names: destinations[0].hosts[0]: must be an exact name, not a wildcard\n',
    );
    expect(calls).toEqual([]);
  });

  it('exit 3 when ipset cannot be read', async () => {
    const runner: CommandRunner = async () => ({ code: 2, stdout: '', stderr: 'ipset v7.17: Kernel error\n' });
    const result = await cli(names('--once', '--nameservers', '192.0.2.53'), runner);
    expect(result.code).toBe(EXIT_APPLY_FAILED);
    expect(result.stderr).toBe('error: cannot list ipsets: ipset exited with 2: ipset v7.17: Kernel error\n');
  });
});
