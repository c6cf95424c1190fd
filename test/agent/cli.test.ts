// The CLI in-process with a fake dataplane: argument handling, exit codes, dry run, one-line errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

async function cli(argv: string[], runner: CommandRunner) {
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
  });
  return { code, stdout, stderr };
}

describe('agent cli', () => {
  it('syncs: reads the kernel, then one iptables-restore -w --noflush', async () => {
    const kernel = fakeKernel();
    const result = await cli(['sync', '--policies', policies, '--containers', store], kernel.runner);
    expect(result).toEqual({ code: EXIT_OK, stdout: '', stderr: '' });
    expect(kernel.calls).toEqual(['iptables-save -t filter', 'ipset save', 'iptables-restore -w --noflush']);
  });

  it('--dry-run prints the payload and writes nothing', async () => {
    const kernel = fakeKernel();
    const result = await cli(['sync', '--policies', policies, '--containers', store, '--dry-run'], kernel.runner);
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).toMatch(/^\*filter\n:dyneg-FORWARD - \[0:0\]\n/);
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

  it('invalid input: exit 1, one line, the kernel is not even read', async () => {
    const kernel = fakeKernel();
    const bad = file('bad.json', '{"total_egress_policies": 0, "egress_policies": "nope"}');
    const result = await cli(['sync', '--policies', bad, '--containers', store], kernel.runner);
    expect(result.code).toBe(EXIT_INVALID_INPUT);
    expect(result.stderr).toBe(
      'error: invalid input, rules unchanged: --policies: egress_policies: must be an array\n',
    );
    expect(kernel.calls).toEqual([]);
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
      dryRun: false,
    });
  });
});
