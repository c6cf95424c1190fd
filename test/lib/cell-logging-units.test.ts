// Connection logging on a cell, as the sync document installs it: the two units' contents (and
// systemd's own verdict on them), and the install and remove steps run for real in a temporary
// folder, with stand-in systemctl and ulogd and the real agent CLI writing ulogd's configuration.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  installConnectionLoggingScript,
  removeConnectionLoggingScript,
  ULOGD_JSON_PLUGIN,
} from '../../lib/cell-logging-script.js';
import {
  type ConnectionLoggingUnitOptions,
  connectionLoggingUnits,
  LOGROTATE_SERVICE,
  LOGROTATE_TIMER,
  LOGS_SERVICE,
  ULOGD_SERVICE,
} from '../../lib/cell-logging-units.js';
import { PROJECT_ROOT } from '../../lib/route-function.js';
import { standInCommands } from './stand-in-commands.js';

const OPTIONS: ConnectionLoggingUnitOptions = {
  agentFile: '/opt/dynamic-egress/agent/current.mjs',
  agentBuild: 'abc123.mjs',
  containersPath: '/var/vcap/data/container-metadata/store.json',
};
const AGENT_ENTRY = resolve(PROJECT_ROOT, 'bin/agent.ts');

const lines = (unit: string) => unit.split('\n');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'egress-logging-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A folder of stand-in commands, each a sh script. */
const bin = (commands: Record<string, string>): string => standInCommands(dir, commands);

describe('connectionLoggingUnits', () => {
  it('renders a ulogd service on the configuration file, restarting on failure without a start limit', () => {
    expect(lines(connectionLoggingUnits(OPTIONS).ulogd)).toEqual(
      expect.arrayContaining([
        'StartLimitIntervalSec=0',
        'Type=simple',
        "ExecStart=/bin/sh -c 'exec ulogd -c /etc/dynamic-egress/ulogd.conf'",
        'Restart=on-failure',
        'RestartSec=5',
        'WantedBy=multi-user.target',
      ]),
    );
  });

  it('renders the forwarder on ulogd JSON file, appending to /var/log/dynamic-egress/egress.log, naming the build', () => {
    const logs = lines(connectionLoggingUnits(OPTIONS).logs);
    expect(logs).toEqual(
      expect.arrayContaining([
        `After=${ULOGD_SERVICE}`,
        'StartLimitIntervalSec=0',
        "ExecStart=/bin/sh -c 'exec node /opt/dynamic-egress/agent/current.mjs logs --containers /var/vcap/data/container-metadata/store.json --input /var/log/dynamic-egress/ulogd.json --output /var/log/dynamic-egress/egress.log --position-file /var/log/dynamic-egress/ulogd.json.position'",
        'Restart=on-failure',
        'RestartSec=5',
        'WantedBy=multi-user.target',
      ]),
    );
    expect(logs.filter((line) => line.includes('abc123.mjs'))).toHaveLength(1);
    expect(connectionLoggingUnits({ ...OPTIONS, agentBuild: 'def456.mjs' }).logs).not.toBe(
      connectionLoggingUnits(OPTIONS).logs,
    );
  });

  it('rotates both logs by size on its own timer, moving ulogd output away and telling ulogd to reopen it', () => {
    const units = connectionLoggingUnits(OPTIONS);
    expect(units.rotation).toContain(
      '/var/log/dynamic-egress/ulogd.json {\n\tsize 50M\n\trotate 1\n\tmissingok\n\tnotifempty\n\tnocreate\n\tpostrotate\n\t\tsystemctl kill --signal=HUP dynamic-egress-ulogd.service\n\tendscript\n}',
    );
    expect(units.rotation).toContain('/var/log/dynamic-egress/egress.log {\n\tsize 50M\n\trotate 4\n\tcompress\n');
    expect(lines(units.rotateService)).toContain(
      "ExecStart=/bin/sh -c 'exec logrotate --state /var/lib/dynamic-egress/logrotate.state /etc/dynamic-egress/logrotate.conf'",
    );
    expect(lines(units.rotateTimer)).toEqual(
      expect.arrayContaining(['OnBootSec=5min', 'OnUnitActiveSec=5min', 'WantedBy=timers.target']),
    );
    for (const reopenUlogd of ['kill -HUP 0', 'kill -HUP 1; rm -rf /', 'systemctl kill ulogd']) {
      expect(() => connectionLoggingUnits({ ...OPTIONS, reopenUlogd })).toThrow(/unsafe reopenUlogd/);
    }
  });

  // Under CI a missing logrotate fails the test instead of skipping it.
  it.runIf(spawnSync('logrotate', ['--version']).status === 0 || process.env.CI === 'true')(
    "passes logrotate's own check of its configuration",
    () => {
      const units = connectionLoggingUnits({
        ...OPTIONS,
        ulogdJsonFile: join(dir, 'ulogd.json'),
        outputFile: join(dir, 'egress.log'),
      });
      writeFileSync(join(dir, 'logrotate.conf'), units.rotation);
      writeFileSync(join(dir, 'egress.log'), 'a line\n');
      // -d: parse and say what it would do, change nothing.
      const check = spawnSync('logrotate', ['-d', '-s', join(dir, 'state'), join(dir, 'logrotate.conf')], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(check.status, check.stderr).toBe(0);
      expect(check.stderr).not.toMatch(/error/i);
      expect(check.stderr).toContain(`considering log ${join(dir, 'egress.log')}`);
    },
  );

  it('refuses a value that could break out of the unit or the script', () => {
    for (const containersPath of ["/a'b", '/a b', '/a$b', '/a%b', '/a\nExecStartPre=/bin/evil']) {
      expect(() => connectionLoggingUnits({ ...OPTIONS, containersPath })).toThrow(
        /connectionLoggingUnits: unsafe value/,
      );
    }
  });

  // Under CI a missing systemd-analyze fails the test instead of skipping it.
  it.runIf(spawnSync('systemd-analyze', ['--version']).status === 0 || process.env.CI === 'true')(
    'passes systemd-analyze verify',
    () => {
      const units = connectionLoggingUnits({
        ...OPTIONS,
        containersPath: join(dir, 'store.json'),
        ulogdConfigFile: join(dir, 'ulogd.conf'),
        ulogdJsonFile: join(dir, 'ulogd.json'),
        outputFile: join(dir, 'egress.log'),
      });
      writeFileSync(join(dir, ULOGD_SERVICE), units.ulogd);
      writeFileSync(join(dir, LOGS_SERVICE), units.logs);
      writeFileSync(join(dir, LOGROTATE_SERVICE), units.rotateService);
      writeFileSync(join(dir, LOGROTATE_TIMER), units.rotateTimer);
      const verify = spawnSync(
        'systemd-analyze',
        [
          'verify',
          '--man=no',
          ...[ULOGD_SERVICE, LOGS_SERVICE, LOGROTATE_SERVICE, LOGROTATE_TIMER].map((unit) => join(dir, unit)),
        ],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    },
  );
});

interface Setup {
  readonly systemd?: boolean;
  readonly ulogd?: boolean;
  readonly jsonPlugin?: boolean;
  readonly systemctlExit?: number;
  readonly agentExit?: number;
  readonly agentBuild?: string;
  readonly nflogGroup?: number;
  readonly logrotate?: boolean;
}

describe('the install step, run with stand-in systemctl and ulogd and the real agent CLI', () => {
  const paths = () => ({
    unitDir: join(dir, 'units'),
    runtimeDir: join(dir, 'run-systemd'),
    pluginDir: join(dir, 'lib', 'ulogd'),
    config: join(dir, 'etc', 'ulogd.conf'),
    json: join(dir, 'log', 'ulogd.json'),
    logDir: join(dir, 'log'),
    rotationConfig: join(dir, 'etc', 'logrotate.conf'),
    rotationState: join(dir, 'lib', 'dynamic-egress', 'logrotate.state'),
  });

  function install(setup: Setup = {}) {
    const p = paths();
    mkdirSync(p.unitDir, { recursive: true });
    if (setup.systemd ?? true) mkdirSync(p.runtimeDir, { recursive: true });
    mkdirSync(p.pluginDir, { recursive: true });
    if (setup.jsonPlugin ?? true) writeFileSync(join(p.pluginDir, ULOGD_JSON_PLUGIN), '');
    const path = bin({
      systemctl: `echo "systemctl $*" >> ${dir}/systemctl.log; exit ${setup.systemctlExit ?? 0}`,
      // The document's `node current.mjs …`: the agent file is recorded, the real CLI runs the rest.
      node: `echo "$1" >> ${dir}/agent.log; shift; ${setup.agentExit ? `exit ${setup.agentExit}` : `exec ${process.execPath} --import tsx ${AGENT_ENTRY} "$@"`}`,
      ...((setup.ulogd ?? true) ? { ulogd: 'exit 0' } : {}),
      ...((setup.logrotate ?? true) ? { logrotate: 'exit 0' } : {}),
    });
    const units = connectionLoggingUnits({
      ...OPTIONS,
      agentBuild: setup.agentBuild ?? OPTIONS.agentBuild,
      rotationConfigFile: p.rotationConfig,
      rotationStateFile: p.rotationState,
    });
    const script = installConnectionLoggingScript({
      units,
      agentFile: OPTIONS.agentFile,
      nflogGroup: setup.nflogGroup ?? 100,
      ulogdConfigFile: p.config,
      ulogdJsonFile: p.json,
      logDir: p.logDir,
      unitDir: p.unitDir,
      systemdRuntimeDir: p.runtimeDir,
      ulogdPluginDirs: [join(dir, 'nowhere', 'ulogd'), join(dir, '*', 'ulogd')],
      rotationConfigFile: p.rotationConfig,
      rotationStateFile: p.rotationState,
    })
      // The document puts the system folders first; the stand-ins must come first here.
      .filter((line) => !line.startsWith('export PATH='))
      .join('\n');
    const result = spawnSync('/bin/sh', ['-c', script], {
      // Only the stand-ins and the base system: no real ulogd or systemctl on the PATH.
      env: { PATH: `${path}:/usr/bin:/bin` },
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const log = join(dir, 'systemctl.log');
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    rmSync(log, { force: true });
    return { result, calls, units, ...p };
  }

  it('writes the ulogd configuration for the sync group, both units and the rotation, then reloads, enables and starts them', () => {
    const { result, calls, units, unitDir, config, pluginDir, json, logDir, rotationConfig, rotationState } = install({
      nflogGroup: 4242,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const conf = readFileSync(config, 'utf8');
    expect(conf).toContain('group=4242\n');
    expect(conf).toContain(`file="${json}"\n`);
    expect(conf).toContain(`plugin="${pluginDir}/ulogd_output_JSON.so"\n`);
    expect(readFileSync(join(dir, 'agent.log'), 'utf8')).toBe(`${OPTIONS.agentFile}\n`);
    expect(readFileSync(join(unitDir, ULOGD_SERVICE), 'utf8')).toBe(units.ulogd);
    expect(readFileSync(join(unitDir, LOGS_SERVICE), 'utf8')).toBe(units.logs);
    expect(existsSync(logDir)).toBe(true);
    expect(readFileSync(rotationConfig, 'utf8')).toBe(units.rotation);
    expect(readFileSync(join(unitDir, LOGROTATE_SERVICE), 'utf8')).toBe(units.rotateService);
    expect(readFileSync(join(unitDir, LOGROTATE_TIMER), 'utf8')).toBe(units.rotateTimer);
    expect(existsSync(join(rotationState, '..'))).toBe(true);
    expect(calls).toEqual([
      'systemctl daemon-reload',
      `systemctl reset-failed ${ULOGD_SERVICE} ${LOGS_SERVICE}`,
      `systemctl enable --now ${ULOGD_SERVICE} ${LOGS_SERVICE}`,
      `systemctl enable --now ${LOGROTATE_TIMER}`,
      `systemctl restart ${ULOGD_SERVICE}`,
      `systemctl restart ${LOGS_SERVICE}`,
    ]);
  });

  it('is idempotent: a second run changes no file and only makes sure both services run', () => {
    install();
    const again = install();
    expect(again.result.status).toBe(0);
    expect(again.calls).toEqual([
      `systemctl reset-failed ${ULOGD_SERVICE} ${LOGS_SERVICE}`,
      `systemctl enable --now ${ULOGD_SERVICE} ${LOGS_SERVICE}`,
      `systemctl enable --now ${LOGROTATE_TIMER}`,
    ]);
    expect(existsSync(`${again.config}.tmp`)).toBe(false);
  });

  it('restarts only the forwarder on a new agent build, only ulogd on a new group', () => {
    install();
    const build = install({ agentBuild: 'def456.mjs' }).calls;
    expect(build).toContain(`systemctl restart ${LOGS_SERVICE}`);
    expect(build).not.toContain(`systemctl restart ${ULOGD_SERVICE}`);
    expect(install({ agentBuild: 'def456.mjs' }).calls).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/restart/)]),
    );
    const group = install({ agentBuild: 'def456.mjs', nflogGroup: 5 }).calls;
    expect(group).toContain(`systemctl restart ${ULOGD_SERVICE}`);
    expect(group).not.toContain(`systemctl restart ${LOGS_SERVICE}`);
  });

  it('without logrotate, warns that the logs grow, and logs all the same', () => {
    const { result, calls, unitDir, rotationConfig } = install({ logrotate: false });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('warning: logrotate is not installed: the connection logs in');
    expect(result.stderr).toContain('apt-get install logrotate');
    expect(existsSync(rotationConfig)).toBe(false);
    expect(existsSync(join(unitDir, LOGROTATE_TIMER))).toBe(false);
    expect(calls).toContain(`systemctl enable --now ${ULOGD_SERVICE} ${LOGS_SERVICE}`);
    expect(calls).not.toContain(`systemctl enable --now ${LOGROTATE_TIMER}`);
  });

  it('without ulogd, warns on stderr, writes nothing and succeeds (the sync step still runs)', () => {
    const { result, calls, unitDir, config } = install({ ulogd: false });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('warning: ulogd is not installed: refused connections are not logged');
    expect(result.stderr).toContain('apt-get install ulogd2 ulogd2-json');
    expect(calls).toEqual([]);
    expect(existsSync(join(unitDir, ULOGD_SERVICE))).toBe(false);
    expect(existsSync(config)).toBe(false);
  });

  it("without ulogd's JSON plugin, warns on stderr, writes nothing and succeeds", () => {
    const { result, calls, unitDir } = install({ jsonPlugin: false });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('warning: ulogd has no JSON output (ulogd_output_JSON.so in none of');
    expect(calls).toEqual([]);
    expect(existsSync(join(unitDir, LOGS_SERVICE))).toBe(false);
  });

  it('without systemd, says so on stderr and succeeds', () => {
    const { result, calls } = install({ systemd: false });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('systemd is not running: refused connections are not logged on this cell');
    expect(calls).toEqual([]);
  });

  it('when the agent fails to write the configuration, says so on stderr, starts nothing and succeeds', () => {
    const { result, calls, unitDir } = install({ agentExit: 3 });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('installing connection logging failed (exit 3)');
    expect(calls).toEqual([]);
    expect(existsSync(join(unitDir, LOGS_SERVICE))).toBe(false);
  });

  it('when systemctl fails, says so on stderr and still succeeds, so SSM runs the sync step', () => {
    const { result } = install({ systemctlExit: 1 });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('systemctl failed: connection logging may not run');
  });
});

describe('the remove step', () => {
  function remove(neverFail: boolean, setup: { installed: boolean; systemctlExit?: number }) {
    const unitDir = join(dir, 'units');
    const runtimeDir = join(dir, 'run-systemd');
    const config = join(dir, 'ulogd.conf');
    const rotationConfig = join(dir, 'logrotate.conf');
    mkdirSync(unitDir, { recursive: true });
    mkdirSync(runtimeDir, { recursive: true });
    writeFileSync(config, '');
    writeFileSync(rotationConfig, '');
    writeFileSync(join(dir, 'egress.log'), 'kept\n');
    if (setup.installed) {
      writeFileSync(join(unitDir, ULOGD_SERVICE), '');
      writeFileSync(join(unitDir, LOGS_SERVICE), '');
      writeFileSync(join(unitDir, LOGROTATE_SERVICE), '');
      writeFileSync(join(unitDir, LOGROTATE_TIMER), '');
    }
    const path = bin({ systemctl: `echo "systemctl $*" >> ${dir}/systemctl.log; exit ${setup.systemctlExit ?? 0}` });
    const script = removeConnectionLoggingScript({
      neverFail,
      unitDir,
      systemdRuntimeDir: runtimeDir,
      ulogdConfigFile: config,
      rotationConfigFile: rotationConfig,
    })
      .filter((line) => !line.startsWith('export PATH='))
      .join('\n');
    const result = spawnSync('/bin/sh', ['-c', script], {
      env: { PATH: `${path}:/usr/bin:/bin` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const log = join(dir, 'systemctl.log');
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    return { result, calls, unitDir, config, rotationConfig };
  }

  it('stops, disables and deletes both units, the rotation and the configuration, and keeps the log files', () => {
    const { result, calls, unitDir, config, rotationConfig } = remove(false, { installed: true });
    expect(result.status).toBe(0);
    expect(calls).toEqual([
      `systemctl disable --now ${LOGROTATE_TIMER} ${LOGS_SERVICE} ${ULOGD_SERVICE}`,
      'systemctl daemon-reload',
      `systemctl reset-failed ${LOGROTATE_SERVICE} ${LOGS_SERVICE} ${ULOGD_SERVICE}`,
    ]);
    for (const unit of [ULOGD_SERVICE, LOGS_SERVICE, LOGROTATE_SERVICE, LOGROTATE_TIMER]) {
      expect(existsSync(join(unitDir, unit))).toBe(false);
    }
    expect(existsSync(config)).toBe(false);
    expect(existsSync(rotationConfig)).toBe(false);
    expect(readFileSync(join(dir, 'egress.log'), 'utf8')).toBe('kept\n');
  });

  it('touches systemd only when a unit is there (the sync document runs it on every sync when logging is off)', () => {
    const { result, calls } = remove(true, { installed: false });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(calls).toEqual([]);
  });

  it('in the sync document never fails it; in the uninstall document fails so its operator sees it', () => {
    const sync = remove(true, { installed: true, systemctlExit: 1 });
    expect(sync.result.status).toBe(0);
    expect(sync.result.stderr).toContain('removing connection logging failed (exit 1)');
    rmSync(join(dir, 'systemctl.log'), { force: true });
    expect(remove(false, { installed: true, systemctlExit: 1 }).result.status).not.toBe(0);
  });

  it('touches no rule', () => {
    expect(removeConnectionLoggingScript({ neverFail: false }).join('\n')).not.toMatch(/iptables|ipset/);
  });
});
