// The containers-file watcher a cell gets from the sync document: the unit files' contents (and
// systemd's own verdict on them, where systemd-analyze is installed), the service's shell loop run
// for real with a stand-in agent, and the install step run for real with stand-in systemctl and IMDS.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootGuardCommand, type CellUnitOptions, cellUnits, MAX_RERUNS, START_LIMIT } from '../../lib/cell-units.js';
import { installWatcherScript, uninstallWatcherScript, wholeValueMatches } from '../../lib/cell-watcher-script.js';
import { residentStandIn } from './resident-stand-in.js';
import { standInCommands } from './stand-in-commands.js';

const OPTIONS: CellUnitOptions = {
  agentFile: '/opt/dynamic-egress/agent/current.mjs',
  stateDir: '/var/lib/dynamic-egress',
  tableName: 'Egress-Table_1.x',
  region: 'eu-west-1',
  containersPath: '/var/vcap/data/container-metadata/store.json',
  overlayCidr: '10.255.0.0/16',
  unknownSources: 'reject',
  denyLogRate: '10/minute',
  denyNetworks: '',
  nflogGroup: 7,
  lockWaitSeconds: 270,
  timeoutSeconds: 300,
};

const lines = (unit: string) => unit.split('\n');
/** The service's shell script as sh receives it: systemd's `$$` and `%%` undone. */
function serviceScript(service: string): string {
  const exec = lines(service).find((line) => line.startsWith('ExecStart=')) ?? '';
  const quoted = /^ExecStart=\/bin\/sh -c '(.*)'$/.exec(exec)?.[1];
  if (!quoted) throw new Error(`unexpected ExecStart: ${exec}`);
  return quoted.replaceAll('$$', '$').replaceAll('%%', '%');
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'egress-units-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A folder of stand-in commands, each a sh script. */
const bin = (commands: Record<string, string>): string => standInCommands(dir, commands);

describe('cellUnits', () => {
  it('renders a oneshot service running the document agent command at MinVersion 0, from the stable agent path', () => {
    const { service } = cellUnits(OPTIONS);
    expect(lines(service)).toEqual(
      expect.arrayContaining([
        '[Service]',
        'Type=oneshot',
        'TimeoutStartSec=2400',
        `StartLimitIntervalSec=${START_LIMIT.intervalSeconds}`,
        `StartLimitBurst=${START_LIMIT.burst}`,
        'Environment=AWS_REGION=eu-west-1',
        'EnvironmentFile=/var/lib/dynamic-egress/cell.env',
      ]),
    );
    // The start limit belongs to [Unit] (systemd ignores it under [Service] since v230).
    expect(service.indexOf('StartLimitBurst=')).toBeLessThan(service.indexOf('[Service]'));
    expect(serviceScript(service)).toContain(
      'flock -w 270 -E 3 /var/lib/dynamic-egress/sync.lock node /opt/dynamic-egress/agent/current.mjs sync --from-dynamodb ' +
        '--table Egress-Table_1.x --containers /var/vcap/data/container-metadata/store.json ' +
        '--state-dir /var/lib/dynamic-egress --cell-name "$CELL_NAME" --min-version 0 ' +
        '--overlay-cidr 10.255.0.0/16 --unknown-sources reject --deny-log-rate 10/minute --log-group 7',
    );
  });

  it('waits for the resident agent half the step’s timeout when that is under a minute', () => {
    const polls = (seconds: number) => `-ge ${seconds === 15 ? 780 : 3030} ]`;
    const { service } = cellUnits({ ...OPTIONS, lockWaitSeconds: 10, timeoutSeconds: 30 });
    expect(service).toContain(polls(15));
    expect(service).toContain('-gt 15 ]');
    expect(service).not.toContain(polls(60));
    expect(cellUnits(OPTIONS).service).toContain(polls(60));
  });

  it('renders a path unit on the containers file that starts the service, enabled at boot', () => {
    expect(lines(cellUnits(OPTIONS).path)).toEqual([
      '[Unit]',
      'Description=dynamic-egress: watch the containers file of this cell',
      '',
      '[Path]',
      'PathChanged=/var/vcap/data/container-metadata/store.json',
      'Unit=dynamic-egress-sync.service',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ]);
  });

  it('escapes every $ and % of the script for systemd, so systemd expands none of them', () => {
    const exec = lines(cellUnits(OPTIONS).service).find((line) => line.startsWith('ExecStart=')) ?? '';
    expect(exec).not.toMatch(/(?<!\$)\$(?!\$)/);
    expect(exec).not.toMatch(/(?<!%)%(?!%)/);
  });

  it('refuses a value that could break out of the unit or the script', () => {
    for (const containersPath of ["/a'b", '/a b', '/a$b', '/a%b', '/a\nExecStartPre=/bin/evil']) {
      expect(() => cellUnits({ ...OPTIONS, containersPath })).toThrow(/cellUnits: unsafe value/);
    }
  });

  it('renders a boot unit that applies the cell’s own copy before any network is configured', () => {
    const { boot } = cellUnits({ ...OPTIONS, denyNetworks: 'always=10.0.0.0/8' });
    const unit = lines(boot);
    expect(unit.slice(0, 8)).toEqual([
      '[Unit]',
      'Description=dynamic-egress: close the container network at boot with the rules this cell last applied',
      'DefaultDependencies=no',
      'After=local-fs.target systemd-modules-load.service',
      'Wants=network-pre.target',
      'Before=network-pre.target shutdown.target',
      'Conflicts=shutdown.target',
      '',
    ]);
    expect(unit).toEqual(
      expect.arrayContaining(['Type=oneshot', 'TimeoutStartSec=300', '[Install]', 'WantedBy=multi-user.target']),
    );
    // The guard first (it closes the container network), then the watcher's enforcement flags, no
    // table, no cell name (nothing is read or reported).
    expect(serviceScript(boot)).toBe(
      `${bootGuardCommand('10.255.0.0/16')}; ` +
        'flock -w 270 -E 3 /var/lib/dynamic-egress/sync.lock node /opt/dynamic-egress/agent/current.mjs sync --from-cache ' +
        '--containers /var/vcap/data/container-metadata/store.json --state-dir /var/lib/dynamic-egress ' +
        '--overlay-cidr 10.255.0.0/16 --unknown-sources reject --deny-log-rate 10/minute --log-group 7 ' +
        '--deny-networks always=10.0.0.0/8',
    );
    expect(serviceScript(cellUnits({ ...OPTIONS, denyNetworks: 'always=10.0.0.0/8' }).service)).toContain(
      '--overlay-cidr 10.255.0.0/16 --unknown-sources reject --deny-log-rate 10/minute --log-group 7 --deny-networks always=10.0.0.0/8',
    );
  });

  it('runs the boot unit’s command as written: the guard on a kernel without the root chain, then the agent under the lock, once', () => {
    const path = bin({
      node: `echo "$*" >> ${dir}/runs.log`,
      // A kernel without the agent's chains: listing the root chain fails, everything else works.
      iptables: `echo "iptables $*" >> ${dir}/runs.log; case "$*" in *" -L "*) exit 1;; esac`,
    });
    const units = cellUnits({ ...OPTIONS, stateDir: dir });
    const result = spawnSync('/bin/sh', ['-c', serviceScript(units.boot)], {
      env: { PATH: `${path}:/usr/bin:/bin` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n')).toEqual([
      'iptables -w -n -L dyneg-FORWARD',
      'iptables -w -N dyneg-FORWARD',
      'iptables -w -A dyneg-FORWARD -d 10.255.0.0/16 -j RETURN',
      'iptables -w -A dyneg-FORWARD -s 10.255.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
      'iptables -w -A dyneg-FORWARD -s 10.255.0.0/16 -j REJECT',
      'iptables -w -I FORWARD 1 -m comment --comment dyneg:hook -j dyneg-FORWARD',
      `/opt/dynamic-egress/agent/current.mjs sync --from-cache --containers /var/vcap/data/container-metadata/store.json --state-dir ${dir} --overlay-cidr 10.255.0.0/16 --unknown-sources reject --deny-log-rate 10/minute --log-group 7`,
    ]);
    expect(existsSync(join(dir, 'sync.lock'))).toBe(true);
  });

  it('renders the resident agent’s service: `agent serve` with the flags of the table syncs, its folder under /run', () => {
    const { agent, service } = cellUnits({ ...OPTIONS, denyNetworks: 'always=10.0.0.0/8' });
    expect(lines(agent)).toEqual(
      expect.arrayContaining([
        'After=network-online.target dynamic-egress-boot.service',
        'Type=simple',
        'Environment=AWS_REGION=eu-west-1',
        'EnvironmentFile=/var/lib/dynamic-egress/cell.env',
        'RuntimeDirectory=dynamic-egress',
        'RuntimeDirectoryMode=0700',
        // Stopped, only the agent hears SIGTERM: its lock-holding shell keeps the lock until its sync ends.
        'KillMode=mixed',
        'Restart=always',
        'WantedBy=multi-user.target',
      ]),
    );
    const serve = serviceScript(agent);
    expect(serve).toBe(
      'exec node /opt/dynamic-egress/agent/current.mjs serve --table Egress-Table_1.x ' +
        '--containers /var/vcap/data/container-metadata/store.json --state-dir /var/lib/dynamic-egress ' +
        '--cell-name "$CELL_NAME" --overlay-cidr 10.255.0.0/16 --unknown-sources reject --deny-log-rate 10/minute ' +
        '--log-group 7 --deny-networks always=10.0.0.0/8 --requests /run/dynamic-egress --lock-wait 270 --sync-timeout 300',
    );
    // The same settings as the sync the containers-file service falls back to.
    const fallback = /current\.mjs sync --from-dynamodb (.*?);/.exec(serviceScript(service))?.[1] ?? '';
    const settings = (flags: string) =>
      flags.replace(/ --min-version 0| --requests \S+| --lock-wait \d+| --sync-timeout \d+/g, '').trim();
    expect(settings(serve.slice(serve.indexOf(' serve ') + ' serve '.length))).toBe(settings(fallback));
  });

  // Under CI a missing systemd-analyze fails the test instead of skipping it.
  it.runIf(spawnSync('systemd-analyze', ['--version']).status === 0 || process.env.CI === 'true')(
    'passes systemd-analyze verify',
    () => {
      const units = cellUnits({ ...OPTIONS, stateDir: dir, containersPath: join(dir, 'store.json') });
      writeFileSync(join(dir, 'dynamic-egress-sync.service'), units.service);
      writeFileSync(join(dir, 'dynamic-egress-sync.path'), units.path);
      writeFileSync(join(dir, 'dynamic-egress-boot.service'), units.boot);
      writeFileSync(join(dir, 'dynamic-egress-agent.service'), units.agent);
      const verify = spawnSync(
        'systemd-analyze',
        [
          'verify',
          '--man=no',
          join(dir, 'dynamic-egress-sync.service'),
          join(dir, 'dynamic-egress-sync.path'),
          join(dir, 'dynamic-egress-boot.service'),
          join(dir, 'dynamic-egress-agent.service'),
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    },
  );
});

describe('the service script, run with a stand-in agent', () => {
  /**
   * Runs the script; the agent appends a line to runs.log and applies `agentBody` to the file. No
   * resident agent runs unless `requests` is its folder (a stand-in answers there, residentStandIn).
   */
  function runScript(
    agentBody: string,
    agentExit = 0,
    requests = join(dir, 'no-resident-agent'),
    lockWaitSeconds = OPTIONS.lockWaitSeconds,
  ): { status: number | null; runs: string[]; stdout: string } {
    const store = join(dir, 'store.json');
    writeFileSync(store, '{}');
    const path = bin({
      node: `echo "$*" >> ${dir}/runs.log\n${agentBody}\nexit ${agentExit}`,
    });
    const units = cellUnits({
      ...OPTIONS,
      stateDir: dir,
      containersPath: store,
      requestsDir: requests,
      lockWaitSeconds,
    });
    const result = spawnSync('/bin/sh', ['-c', serviceScript(units.service)], {
      env: { PATH: `${path}:/usr/bin:/bin`, CELL_NAME: 'i-0123456789abcdef0' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const log = existsSync(join(dir, 'runs.log')) ? readFileSync(join(dir, 'runs.log'), 'utf8') : '';
    return { status: result.status, runs: log.trim().split('\n').filter(Boolean), stdout: result.stdout };
  }

  it('hands the sync to the resident agent when one runs: no node started, its output and exit code', () => {
    const requests = join(dir, 'requests');
    const resident = residentStandIn(requests, 0);
    try {
      const { status, runs, stdout } = runScript('', 0, requests);
      expect(status).toBe(0);
      expect(runs).toEqual([]);
      expect(stdout).toBe('synced\n');
      expect(resident.asked()).toEqual(['0 cheap']);
    } finally {
      resident.stop();
    }
  });

  it('fails with the resident agent’s exit code, without a sync of its own', () => {
    const requests = join(dir, 'requests');
    const resident = residentStandIn(requests, 1);
    try {
      const { status, runs } = runScript('', 0, requests);
      expect(status).toBe(1);
      expect(runs).toEqual([]);
    } finally {
      resident.stop();
    }
  });

  it('on exit 3 (the table unreadable) applies the containers with the cell’s own copy, and still fails with 3', () => {
    const requests = join(dir, 'requests');
    const resident = residentStandIn(requests, 3);
    try {
      const { status, runs } = runScript('', 0, requests);
      expect(status).toBe(3);
      expect(runs).toEqual([
        `/opt/dynamic-egress/agent/current.mjs sync --from-cache --containers ${join(dir, 'store.json')} --state-dir ${dir} --overlay-cidr 10.255.0.0/16 --unknown-sources reject --deny-log-rate 10/minute --log-group 7`,
      ]);
    } finally {
      resident.stop();
    }
  });

  it('when the lock is not taken in time, exits 3 and so runs the fallback once the lock is free', async () => {
    // Another sync holds the cell's lock for 2.5 s; the service waits 2 s for it, then 2 s more for the fallback.
    const holder = spawn('flock', [join(dir, 'sync.lock'), 'sleep', '2.5'], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 5000;
      while (spawnSync('flock', ['-n', join(dir, 'sync.lock'), 'true']).status === 0) {
        if (Date.now() > deadline) throw new Error('the stand-in holder never took the lock');
        await new Promise((done) => setTimeout(done, 20));
      }
      const { status, runs } = runScript('', 0, join(dir, 'no-resident-agent'), 2);
      expect(status).toBe(3);
      expect(runs.map((run) => run.split(' ').slice(1, 3).join(' '))).toEqual(['sync --from-cache']);
    } finally {
      holder.kill();
    }
  });

  it('syncs once, under the lock, with the cell name from the environment file', () => {
    const { status, runs } = runScript('');
    expect(status).toBe(0);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toContain('--cell-name i-0123456789abcdef0 --min-version 0');
    expect(existsSync(join(dir, 'sync.lock'))).toBe(true);
  });

  it('syncs again when the file changed during the sync (the path unit does not watch meanwhile)', () => {
    // The first run sees a container added while it ran; the second finds the file unchanged.
    const { status, runs } = runScript(
      `[ -e ${dir}/once ] || { touch ${dir}/once; echo '{"a":1}' > ${dir}/store.json; }`,
    );
    expect(status).toBe(0);
    expect(runs).toHaveLength(2);
  });

  it('syncs again when the file changed during a sync that failed (it may have read it half rewritten)', () => {
    const { status, runs } = runScript(
      `if [ -e ${dir}/once ]; then exit 0; fi; touch ${dir}/once; echo '{"a":1}' > ${dir}/store.json; exit 1`,
    );
    expect(status).toBe(0);
    expect(runs).toHaveLength(2);
  });

  it('stops after a bounded number of reruns when the file never stops changing', () => {
    const { status, runs } = runScript(`date +%N > ${dir}/store.json.tmp; mv ${dir}/store.json.tmp ${dir}/store.json`);
    expect(status).toBe(0);
    expect(runs).toHaveLength(1 + MAX_RERUNS);
  });

  it('fails with the agent exit code (systemd logs it; the next change or resync tries again)', () => {
    const { status, runs } = runScript('', 1);
    expect(status).toBe(1);
    expect(runs).toHaveLength(1);
    // Exit 3 from its own sync: the cell's copy too, then 3.
    rmSync(join(dir, 'runs.log'));
    const unreadable = runScript('', 3);
    expect(unreadable.status).toBe(3);
    expect(unreadable.runs.map((run) => run.split(' ').slice(1, 3).join(' '))).toEqual([
      'sync --from-dynamodb',
      'sync --from-cache',
    ]);
  });
});

describe('the install step, run with stand-in systemctl and IMDS', () => {
  function install(options: {
    systemd: boolean;
    systemctlExit?: number;
    imdsFails?: boolean;
    agentFileName?: string;
    unitPath?: string;
    denyNetworks?: string;
  }) {
    const agentDir = join(dir, 'agent');
    const unitDir = join(dir, 'units');
    const runtimeDir = join(dir, 'run-systemd');
    mkdirSync(agentDir, { recursive: true });
    mkdirSync(unitDir, { recursive: true });
    if (options.systemd) mkdirSync(runtimeDir, { recursive: true });
    const path = bin({
      curl: options.imdsFails
        ? 'exit 7'
        : 'case "$*" in *api/token*) echo token ;; *) echo i-0123456789abcdef0 ;; esac',
      systemctl: `echo "systemctl $*" >> ${dir}/systemctl.log; exit ${options.systemctlExit ?? 0}`,
    });
    const units = cellUnits({
      ...OPTIONS,
      stateDir: join(dir, 'state'),
      ...(options.denyNetworks === undefined ? {} : { denyNetworks: options.denyNetworks }),
    });
    const script = installWatcherScript({
      units,
      agentDir,
      agentFileName: options.agentFileName ?? 'abc123.mjs',
      stateDir: join(dir, 'state'),
      unitDir,
      systemdRuntimeDir: runtimeDir,
      ...(options.unitPath === undefined ? {} : { unitPath: options.unitPath }),
    })
      // The document puts the system folders first; the stand-ins must come first here.
      .filter((line) => !line.startsWith('export PATH='))
      .join('\n');
    const result = spawnSync('/bin/sh', ['-c', script], {
      env: { PATH: `${path}:/usr/bin:/bin` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const log = join(dir, 'systemctl.log');
    const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    rmSync(log, { force: true });
    return { result, calls, agentDir, unitDir, units };
  }

  it('points current.mjs at this build, writes the units and the cell name, reloads, starts the watcher, enables the boot unit', () => {
    const { result, calls, agentDir, unitDir, units } = install({ systemd: true });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readlinkSync(join(agentDir, 'current.mjs'))).toBe('abc123.mjs');
    expect(readFileSync(join(unitDir, 'dynamic-egress-sync.service'), 'utf8')).toBe(units.service);
    expect(readFileSync(join(unitDir, 'dynamic-egress-sync.path'), 'utf8')).toBe(units.path);
    expect(readFileSync(join(unitDir, 'dynamic-egress-boot.service'), 'utf8')).toBe(units.boot);
    expect(readFileSync(join(unitDir, 'dynamic-egress-agent.service'), 'utf8')).toBe(units.agent);
    expect(readFileSync(join(dir, 'state', 'cell.env'), 'utf8')).toBe('CELL_NAME=i-0123456789abcdef0\n');
    expect(calls).toEqual([
      // The boot unit first (it needs nothing from IMDS). Not started: it is for the next boot, and
      // the document's sync step follows.
      'systemctl daemon-reload',
      'systemctl enable dynamic-egress-boot.service',
      'systemctl daemon-reload',
      'systemctl reset-failed dynamic-egress-sync.path dynamic-egress-sync.service',
      'systemctl enable --now dynamic-egress-sync.path',
      'systemctl restart dynamic-egress-sync.path',
      'systemctl reset-failed dynamic-egress-agent.service',
      'systemctl enable dynamic-egress-agent.service',
      'systemctl restart dynamic-egress-agent.service',
    ]);
  });

  it('is idempotent: a second run changes no file and only makes sure the watcher and the resident agent run', () => {
    install({ systemd: true });
    const again = install({ systemd: true });
    expect(again.result.status).toBe(0);
    expect(again.calls).toEqual([
      'systemctl enable dynamic-egress-boot.service',
      'systemctl reset-failed dynamic-egress-sync.path dynamic-egress-sync.service',
      'systemctl enable --now dynamic-egress-sync.path',
      'systemctl reset-failed dynamic-egress-agent.service',
      'systemctl enable dynamic-egress-agent.service',
      'systemctl start dynamic-egress-agent.service',
    ]);
    expect(existsSync(join(again.unitDir, 'dynamic-egress-sync.service.tmp'))).toBe(false);
  });

  it('restarts the resident agent when the build changes, though no unit did (it runs current.mjs)', () => {
    install({ systemd: true });
    const next = install({ systemd: true, agentFileName: 'def456.mjs' });
    expect(next.result.status).toBe(0);
    expect(readlinkSync(join(next.agentDir, 'current.mjs'))).toBe('def456.mjs');
    expect(next.calls.slice(-3)).toEqual([
      'systemctl reset-failed dynamic-egress-agent.service',
      'systemctl enable dynamic-egress-agent.service',
      'systemctl restart dynamic-egress-agent.service',
    ]);
  });

  it('a new build or new units that systemd could not apply are applied by the next run, though it writes nothing new', () => {
    const applied = [
      'systemctl daemon-reload',
      'systemctl restart dynamic-egress-sync.path',
      'systemctl restart dynamic-egress-agent.service',
    ];
    const appliedBy = (calls: readonly string[]) => calls.filter((call) => applied.includes(call));
    install({ systemd: true });
    // A new build whose restart fails: the next run of the same build restarts, and the one after does not.
    const failed = install({ systemd: true, agentFileName: 'def456.mjs', systemctlExit: 1 });
    expect(failed.result.stderr).toContain('systemctl could not apply the new build or units');
    expect(existsSync(join(failed.agentDir, 'units-pending'))).toBe(true);
    expect(appliedBy(install({ systemd: true, agentFileName: 'def456.mjs' }).calls)).toEqual(applied);
    expect(existsSync(join(failed.agentDir, 'units-pending'))).toBe(false);
    expect(appliedBy(install({ systemd: true, agentFileName: 'def456.mjs' }).calls)).toEqual([]);
    // New flags in the agent's unit whose reload fails: the same.
    const denying = { systemd: true, agentFileName: 'def456.mjs', denyNetworks: 'always=169.254.169.254/32' };
    install({ ...denying, systemctlExit: 1 });
    expect(appliedBy(install(denying).calls)).toEqual(applied);
    expect(appliedBy(install(denying).calls)).toEqual([]);
  });

  it('a new build marked before IMDS fails is applied by the next run', () => {
    install({ systemd: true });
    const failed = install({ systemd: true, agentFileName: 'def456.mjs', imdsFails: true });
    expect(failed.result.stderr).toContain('installing the containers-file watcher failed (exit 7)');
    expect(existsSync(join(failed.agentDir, 'units-pending'))).toBe(true);
    expect(install({ systemd: true, agentFileName: 'def456.mjs' }).calls).toContain(
      'systemctl restart dynamic-egress-agent.service',
    );
  });

  it('one run at a time: a run that cannot take the lock changes nothing and says so', () => {
    install({ systemd: true });
    const agentDir = join(dir, 'agent');
    const holder = spawn('flock', [join(agentDir, 'install.lock'), 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      spawnSync('sleep', ['0.2']);
      const script = installWatcherScript({
        units: cellUnits({ ...OPTIONS, stateDir: join(dir, 'state') }),
        agentDir,
        agentFileName: 'ghi789.mjs',
        stateDir: join(dir, 'state'),
        unitDir: join(dir, 'units'),
        systemdRuntimeDir: join(dir, 'run-systemd'),
      })
        .join('\n')
        .replace('flock -w 20 9', 'flock -w 0.2 9');
      const result = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', timeout: 30_000 });
      expect(result.status).toBe(0);
      expect(result.stderr).toContain('another run of the install step held its lock');
      expect(readlinkSync(join(agentDir, 'current.mjs'))).toBe('abc123.mjs');
    } finally {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    }
  });

  it('when systemctl fails, says so on stderr and still succeeds, so SSM runs the sync step', () => {
    const { result } = install({ systemd: true, systemctlExit: 1 });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('systemctl failed: the containers-file watcher may not run');
  });

  it('says on stderr when the units’ PATH finds no node >= 20 (the boot unit would fail at the next boot), and goes on', () => {
    const oldNode = mkdtempSync(join(dir, 'old-node-'));
    writeFileSync(join(oldNode, 'node'), '#!/bin/sh\necho 18\n', { mode: 0o755 });
    const { result, calls } = install({ systemd: true, unitPath: oldNode });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(
      `dynamic-egress: the units find no node >= 20 on their PATH (${oldNode}): the boot unit cannot apply the rules at the next boot, which leaves the container network closed (its guard) until a sync succeeds; install node >= 20 into /usr/local/bin or /usr/bin\n`,
    );
    expect(calls).toContain('systemctl enable dynamic-egress-boot.service');
    // None at all: the same.
    expect(install({ systemd: true, unitPath: join(dir, 'no-such-folder') }).result.stderr).toContain(
      'the units find no node >= 20 on their PATH',
    );
  });

  it('when anything else fails (here IMDS), says so on stderr and still succeeds, the boot unit installed all the same', () => {
    const { result, calls, unitDir, units } = install({ systemd: true, imdsFails: true });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('installing the containers-file watcher failed (exit 7)');
    // The boot unit needs nothing from IMDS: a reboot still closes the cell.
    expect(readFileSync(join(unitDir, 'dynamic-egress-boot.service'), 'utf8')).toBe(units.boot);
    expect(calls).toEqual(['systemctl daemon-reload', 'systemctl enable dynamic-egress-boot.service']);
    expect(existsSync(join(unitDir, 'dynamic-egress-sync.path'))).toBe(false);
  });

  it('without systemd, says so on stderr and carries on (the sync step still runs)', () => {
    const { result, calls, agentDir, unitDir } = install({ systemd: false });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('systemd is not running on this cell: no watcher on the containers file');
    expect(calls).toEqual([]);
    expect(existsSync(join(unitDir, 'dynamic-egress-sync.path'))).toBe(false);
    expect(readlinkSync(join(agentDir, 'current.mjs'))).toBe('abc123.mjs');
  });
});

describe('the uninstall step', () => {
  it('is a valid sh script that disables, removes and reloads, and by default touches no rule', () => {
    const script = uninstallWatcherScript({
      agentDir: '/opt/dynamic-egress/agent',
      stateDir: '/var/lib/dynamic-egress',
    }).join('\n');
    expect(spawnSync('/bin/sh', ['-n', '-c', script]).status).toBe(0);
    expect(script).toContain('systemctl disable --now dynamic-egress-sync.path');
    expect(script).toContain('systemctl disable dynamic-egress-boot.service');
    expect(script).toContain('systemctl disable --now dynamic-egress-agent.service');
    expect(script).toContain(
      'rm -f /etc/systemd/system/dynamic-egress-sync.path /etc/systemd/system/dynamic-egress-sync.service /etc/systemd/system/dynamic-egress-boot.service /etc/systemd/system/dynamic-egress-agent.service',
    );
    expect(script).toContain(
      'rm -f /opt/dynamic-egress/agent/current.mjs /opt/dynamic-egress/agent/units-pending /opt/dynamic-egress/agent/install.lock /var/lib/dynamic-egress/cell.env',
    );
    expect(script).not.toMatch(/iptables|ipset/);
  });

  /** Runs the step with stand-in systemctl and node, which log their calls in order. */
  function uninstall(removeRules: string, nodeExit = 0, withBuild = true) {
    const agentDir = join(dir, 'agent');
    const stateDir = join(dir, 'state');
    const runtimeDir = join(dir, 'run-systemd');
    const unitDir = join(dir, 'units');
    for (const folder of [agentDir, stateDir, runtimeDir, unitDir]) mkdirSync(folder, { recursive: true });
    if (withBuild) writeFileSync(join(agentDir, 'current.mjs'), '');
    const calls = join(dir, 'calls.log');
    const path = bin({
      systemctl: `echo "systemctl $*" >> ${calls}`,
      node: `echo "node $*" >> ${calls}; exit ${nodeExit}`,
    });
    const script = uninstallWatcherScript({ agentDir, stateDir, removeRules, unitDir, systemdRuntimeDir: runtimeDir })
      .filter((line) => !line.startsWith('export PATH='))
      .join('\n');
    const result = spawnSync('/bin/sh', ['-c', script], { env: { PATH: `${path}:/usr/bin:/bin` }, encoding: 'utf8' });
    const logged = existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [];
    return { result, logged, buildLeft: existsSync(join(agentDir, 'current.mjs')) };
  }

  it('with RemoveRules true, runs agent uninstall once the resident agent is stopped, then deletes the build', () => {
    const { result, logged, buildLeft } = uninstall('true');
    expect(result.status).toBe(0);
    const agentStopped = logged.indexOf('systemctl disable --now dynamic-egress-agent.service');
    const removed = logged.indexOf(`node ${join(dir, 'agent', 'current.mjs')} uninstall`);
    expect(agentStopped).toBeGreaterThanOrEqual(0);
    expect(removed).toBeGreaterThan(agentStopped);
    expect(buildLeft).toBe(false);
  });

  it('with RemoveRules false (the default), runs no agent', () => {
    const { result, logged } = uninstall('false');
    expect(result.status).toBe(0);
    expect(logged.filter((call) => call.startsWith('node '))).toEqual([]);
  });

  it('fails with the agent’s exit code when the rules could not be removed, the units and files gone all the same', () => {
    const { result, logged, buildLeft } = uninstall('true', 3);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('dynamic-egress: removing the rules failed (exit 3): they are still in force');
    expect(logged).toContain('systemctl daemon-reload');
    expect(buildLeft).toBe(false);
    const noBuild = uninstall('true', 0, false);
    expect(noBuild.result.status).toBe(1);
    expect(noBuild.result.stderr).toContain('no agent build on this cell');
  });
});

describe('wholeValueMatches, run by sh', () => {
  const matches = (value: string, pattern: string): boolean =>
    spawnSync('sh', ['-c', `V="$1"; if ${wholeValueMatches('V', pattern)}; then exit 0; else exit 1; fi`, 'sh', value])
      .status === 0;

  it.each([
    ['12', true],
    ['', false],
    ['1a', false],
    ['12\nrm -rf /', false],
    ['12\n', false],
    ['\n12', false],
  ])('%j against ^[0-9]{1,15}$: %s', (value, expected) => {
    expect(matches(value, '^[0-9]{1,15}$')).toBe(expected);
  });

  it('takes an instance id whole, and not one with a second line', () => {
    expect(matches('i-0123456789abcdef0', '^i-[0-9a-f]{8,17}$')).toBe(true);
    expect(matches('i-0123456789abcdef0\nx', '^i-[0-9a-f]{8,17}$')).toBe(false);
  });
});
