// The cell proxy's install and remove steps, run by sh with stand-in systemctl, haproxy and iptables:
// both units written and the path unit enabled, the service restarted only when a unit changed and it
// runs; never a failed step (no haproxy, no systemd, systemctl failing); removal stops and deletes the
// units, the proxy's directory and the nat redirects. The units' content is checked by
// systemd-analyze in the agent's own tests (test/agent/proxy/systemd-unit.test.ts) and here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROXY_SERVICE, proxyUnit } from '../../agent/proxy/systemd-unit.js';
import { installProxyScript, PROXY_PATH_UNIT, proxyPathUnit, removeProxyScript } from '../../lib/cell-proxy-script.js';
import { standInCommands } from './stand-in-commands.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'egress-proxy-script-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Setup {
  readonly systemd?: boolean;
  readonly haproxy?: boolean;
  readonly systemctlExit?: number;
  /** What `systemctl is-active` answers. */
  readonly active?: boolean;
}

function run(lines: readonly string[], setup: Setup = {}) {
  const unitDir = join(dir, 'units');
  const runtimeDir = join(dir, 'run-systemd');
  mkdirSync(unitDir, { recursive: true });
  if (setup.systemd ?? true) mkdirSync(runtimeDir, { recursive: true });
  else rmSync(runtimeDir, { recursive: true, force: true });
  const log = join(dir, 'calls.log');
  const path = standInCommands(dir, {
    systemctl: `echo "systemctl $*" >> ${log}; if [ "$1" = is-active ]; then exit ${setup.active ? 0 : 3}; fi; exit ${setup.systemctlExit ?? 0}`,
    iptables: `echo "iptables $*" >> ${log}`,
    ...((setup.haproxy ?? true) ? { haproxy: 'exit 0' } : {}),
  });
  const script = lines.filter((line) => !line.startsWith('export PATH=')).join('\n');
  const result = spawnSync('/bin/sh', ['-c', script], {
    env: { PATH: `${path}:/usr/bin:/bin` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  rmSync(log, { force: true });
  return { result, calls, unitDir };
}

const options = () => ({
  dir: join(dir, 'proxy'),
  unitDir: join(dir, 'units'),
  systemdRuntimeDir: join(dir, 'run-systemd'),
});
const install = (setup?: Setup) => run(installProxyScript(options()), setup);
const remove = (setup?: Setup) => run(removeProxyScript(options()), setup);

describe('installProxyScript', () => {
  it('writes both units, enables the path unit, and restarts a running service only when a unit changed', () => {
    const first = install({ active: true });
    expect([first.result.status, first.result.stderr]).toEqual([0, '']);
    expect(readFileSync(join(first.unitDir, PROXY_SERVICE), 'utf8')).toBe(proxyUnit({ dir: join(dir, 'proxy') }));
    expect(readFileSync(join(first.unitDir, PROXY_PATH_UNIT), 'utf8')).toBe(proxyPathUnit(join(dir, 'proxy')));
    expect(readFileSync(join(first.unitDir, PROXY_PATH_UNIT), 'utf8')).toContain(
      `PathExists=${join(dir, 'proxy')}/haproxy.cfg`,
    );
    expect(existsSync(join(dir, 'proxy'))).toBe(true);
    expect(first.calls).toEqual([
      'systemctl daemon-reload',
      `systemctl enable --now ${PROXY_PATH_UNIT}`,
      `systemctl is-active --quiet ${PROXY_SERVICE}`,
      `systemctl restart ${PROXY_SERVICE}`,
    ]);
    // Unchanged: nothing reloaded or restarted.
    expect(install({ active: true }).calls).toEqual([`systemctl enable --now ${PROXY_PATH_UNIT}`]);
    // A changed unit while the proxy is not running (no configuration yet): not started by the step.
    writeFileSync(join(first.unitDir, PROXY_SERVICE), 'old\n');
    expect(install({ active: false }).calls).toEqual([
      'systemctl daemon-reload',
      `systemctl enable --now ${PROXY_PATH_UNIT}`,
      `systemctl is-active --quiet ${PROXY_SERVICE}`,
    ]);
  });

  it('never fails the step: without haproxy, without systemd, or when systemctl fails, it says so', () => {
    const noHaproxy = install({ haproxy: false });
    expect(noHaproxy.result.status).toBe(0);
    expect(noHaproxy.result.stderr).toContain('haproxy is not installed (apt-get install haproxy)');
    expect(noHaproxy.calls).toEqual([]);
    const noSystemd = install({ systemd: false });
    expect(noSystemd.result.status).toBe(0);
    expect(noSystemd.result.stderr).toContain('systemd is not running on this cell: no cell proxy');
    const failing = install({ systemctlExit: 1 });
    expect(failing.result.status).toBe(0);
    expect(failing.result.stderr).toContain(`the cell proxy may not run (journalctl -u ${PROXY_SERVICE})`);
  });
});

describe('removeProxyScript', () => {
  it('stops and deletes both units and the directory, and takes the redirects out of nat', () => {
    install();
    const removed = remove();
    expect([removed.result.status, removed.result.stderr]).toEqual([0, '']);
    expect(existsSync(join(removed.unitDir, PROXY_SERVICE))).toBe(false);
    expect(existsSync(join(removed.unitDir, PROXY_PATH_UNIT))).toBe(false);
    expect(existsSync(join(dir, 'proxy'))).toBe(false);
    expect(removed.calls).toEqual([
      `systemctl disable --now ${PROXY_PATH_UNIT} ${PROXY_SERVICE}`,
      'systemctl daemon-reload',
      `systemctl reset-failed ${PROXY_SERVICE}`,
      'iptables -w -t nat -D PREROUTING -m comment --comment dyneg:proxy-hook -j dyneg-PROXY',
      'iptables -w -t nat -F dyneg-PROXY',
      'iptables -w -t nat -X dyneg-PROXY',
    ]);
    // Nothing installed: no unit touched, the nat lines still run (each harmless when nothing is there).
    expect(remove().calls.filter((call) => call.startsWith('systemctl'))).toEqual([]);
  });
});

describe('proxyPathUnit', () => {
  it('is a unit systemd accepts', () => {
    const check = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    if (check.status !== 0) {
      if (process.env.CI === 'true') throw new Error('systemd-analyze is missing (apt-get install systemd)');
      return;
    }
    const unitDir = join(dir, 'verify');
    mkdirSync(unitDir);
    writeFileSync(join(unitDir, PROXY_PATH_UNIT), proxyPathUnit('/var/lib/dynamic-egress/proxy'));
    writeFileSync(join(unitDir, PROXY_SERVICE), proxyUnit());
    const verified = spawnSync('systemd-analyze', ['verify', join(unitDir, PROXY_PATH_UNIT)], { encoding: 'utf8' });
    expect(verified.stderr.split('\n').filter((line) => /error|invalid|unknown/i.test(line))).toEqual([]);
    expect(() => proxyPathUnit('/var/lib/x y')).toThrow(/unsafe dir/);
  });
});
