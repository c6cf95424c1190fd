// The host-name refresh's install and remove steps, run by sh with stand-in systemctl and ipset: the
// unit written and the service enabled, restarted only when the unit changed (a new agent build);
// never a failed step; removal stops it and empties the host sets, leaving other sets alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostSetName } from '../../core/plan/names.js';
import { installNamesScript, removeNamesScript } from '../../lib/cell-names-script.js';
import { NAMES_SERVICE, namesUnit } from '../../lib/cell-names-units.js';
import { standInCommands } from './stand-in-commands.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'egress-names-script-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const unit = (agentBuild = 'aaaa.mjs') =>
  namesUnit({
    agentFile: '/opt/dynamic-egress/agent/current.mjs',
    agentBuild,
    stateDir: '/var/lib/dynamic-egress',
    overlayCidr: '10.255.0.0/16',
    denyNetworks: '',
  });

function run(lines: readonly string[], setup: { systemd?: boolean; systemctlExit?: number } = {}) {
  const unitDir = join(dir, 'units');
  const runtimeDir = join(dir, 'run-systemd');
  mkdirSync(unitDir, { recursive: true });
  if (setup.systemd ?? true) mkdirSync(runtimeDir, { recursive: true });
  const path = standInCommands(dir, {
    systemctl: `echo "systemctl $*" >> ${dir}/calls.log; exit ${setup.systemctlExit ?? 0}`,
    ipset: `echo "ipset $*" >> ${dir}/calls.log; if [ "$1" = list ]; then printf '%s\\n' operator ${hostSetName('d1', ['one.example.test'])} dyneg-n-0123456789abcdef ${hostSetName('d2', ['two.example.test'])}; fi`,
  });
  const script = lines
    // The document puts the system folders first; the stand-ins must come first here.
    .filter((line) => !line.startsWith('export PATH='))
    .join('\n');
  const result = spawnSync('/bin/sh', ['-c', script], {
    env: { PATH: `${path}:/usr/bin:/bin` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const log = join(dir, 'calls.log');
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  rmSync(log, { force: true });
  return { result, calls, unitFile: join(unitDir, NAMES_SERVICE), unitDir, runtimeDir };
}

const install = (agentBuild?: string, setup?: Parameters<typeof run>[1]) =>
  run(
    installNamesScript({
      unit: unit(agentBuild),
      unitDir: join(dir, 'units'),
      systemdRuntimeDir: join(dir, 'run-systemd'),
    }),
    setup,
  );
const remove = (setup?: Parameters<typeof run>[1]) =>
  run(removeNamesScript({ unitDir: join(dir, 'units'), systemdRuntimeDir: join(dir, 'run-systemd') }), setup);

describe('installNamesScript', () => {
  it('writes the unit, reloads, enables and starts the service, and restarts it only when the unit changed', () => {
    const first = install();
    expect([first.result.status, first.result.stderr]).toEqual([0, '']);
    expect(readFileSync(first.unitFile, 'utf8')).toBe(unit());
    expect(first.calls).toEqual([
      'systemctl daemon-reload',
      `systemctl reset-failed ${NAMES_SERVICE}`,
      `systemctl enable --now ${NAMES_SERVICE}`,
      `systemctl restart ${NAMES_SERVICE}`,
    ]);
    // The same build again: nothing rewritten, nothing restarted.
    expect(install().calls).toEqual([
      `systemctl reset-failed ${NAMES_SERVICE}`,
      `systemctl enable --now ${NAMES_SERVICE}`,
    ]);
    // A new agent build: the unit changes, the long-running service is restarted on the new code.
    const upgraded = install('bbbb.mjs');
    expect(upgraded.calls).toContain(`systemctl restart ${NAMES_SERVICE}`);
    expect(readFileSync(upgraded.unitFile, 'utf8')).toContain('bbbb.mjs');
  });

  it('never fails the step: without systemd, or when systemctl fails, it says so on stderr', () => {
    const noSystemd = install(undefined, { systemd: false });
    expect(noSystemd.result.status).toBe(0);
    expect(noSystemd.result.stderr).toContain('systemd is not running on this cell: no host-name refresh');
    expect(noSystemd.calls).toEqual([]);
    const failing = install(undefined, { systemctlExit: 1 });
    expect(failing.result.status).toBe(0);
    expect(failing.result.stderr).toContain(`the host-name refresh may not run (journalctl -u ${NAMES_SERVICE})`);
  });
});

describe('removeNamesScript', () => {
  it('stops and removes the service, then empties the host sets (and only those)', () => {
    install();
    const removed = remove();
    expect([removed.result.status, removed.result.stderr]).toEqual([0, '']);
    expect(existsSync(removed.unitFile)).toBe(false);
    expect(removed.calls).toEqual([
      `systemctl disable --now ${NAMES_SERVICE}`,
      'systemctl daemon-reload',
      `systemctl reset-failed ${NAMES_SERVICE}`,
      'ipset list -n',
      `ipset flush ${hostSetName('d1', ['one.example.test'])}`,
      `ipset flush ${hostSetName('d2', ['two.example.test'])}`,
    ]);
    expect(removed.result.stdout).toContain('host-name refresh removed');
  });

  it('with nothing installed touches no unit, and still empties the host sets', () => {
    const removed = remove();
    expect(removed.result.status).toBe(0);
    expect(removed.calls).toEqual([
      'ipset list -n',
      `ipset flush ${hostSetName('d1', ['one.example.test'])}`,
      `ipset flush ${hostSetName('d2', ['two.example.test'])}`,
    ]);
  });
});
