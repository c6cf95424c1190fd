// The host-name refresh service: its content, unsafe values refused, and systemd's own verdict.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NAMES_SERVICE, type NamesUnitOptions, namesUnit } from '../../lib/cell-names-units.js';

const OPTIONS: NamesUnitOptions = {
  agentFile: '/opt/dynamic-egress/agent/current.mjs',
  agentBuild: '0123abcd.mjs',
  stateDir: '/var/lib/dynamic-egress',
  overlayCidr: '10.255.0.0/16',
  denyNetworks: 'always=169.254.169.254/32+running=+staging=',
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'egress-names-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('namesUnit', () => {
  it('renders one long-running service running `agent names --from-sync`, restarted on failure without a start limit', () => {
    expect(namesUnit(OPTIONS).split('\n')).toEqual(
      expect.arrayContaining([
        'StartLimitIntervalSec=0',
        'Type=simple',
        '# Agent build 0123abcd.mjs: a new build rewrites this unit, and the install step restarts it.',
        "ExecStart=/bin/sh -c 'exec node /opt/dynamic-egress/agent/current.mjs names --from-sync --state-dir /var/lib/dynamic-egress --overlay-cidr 10.255.0.0/16 --deny-networks always=169.254.169.254/32+running=+staging='",
        'Restart=on-failure',
        'RestartSec=5',
        'WantedBy=multi-user.target',
      ]),
    );
    expect(namesUnit({ ...OPTIONS, denyNetworks: '' })).not.toContain('--deny-networks');
  });

  it('refuses a value that could break out of the unit or the script', () => {
    for (const stateDir of ["/a'b", '/a b', '/a$b', '/a%b', '/a\nExecStartPre=/bin/evil']) {
      expect(() => namesUnit({ ...OPTIONS, stateDir })).toThrow(/namesUnit: unsafe value/);
      expect(() => namesUnit({ ...OPTIONS, agentBuild: stateDir })).toThrow(/namesUnit: unsafe value/);
    }
    expect(() => namesUnit({ ...OPTIONS, denyNetworks: '{"always":[]}' })).toThrow(/unsafe deny networks/);
  });

  // Under CI a missing systemd-analyze fails the test instead of skipping it.
  it.runIf(spawnSync('systemd-analyze', ['--version']).status === 0 || process.env.CI === 'true')(
    'passes systemd-analyze verify',
    () => {
      const file = join(dir, NAMES_SERVICE);
      writeFileSync(file, namesUnit({ ...OPTIONS, stateDir: dir }));
      const verify = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 60_000 });
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    },
  );

  it('its command line is one the agent accepts', async () => {
    const { parseAgentArgs } = await import('../../agent/cli-args.js');
    const exec =
      namesUnit(OPTIONS)
        .split('\n')
        .find((line) => line.startsWith('ExecStart=')) ?? '';
    const argv = /exec node \S+ (.*)'$/.exec(exec)?.[1]?.split(' ') ?? [];
    expect(parseAgentArgs(argv)).toMatchObject({
      command: 'names',
      names: '/var/lib/dynamic-egress/host-names.json',
      fromSync: true,
      once: false,
      never: ['10.255.0.0/16', '169.254.169.254/32'],
    });
  });
});
