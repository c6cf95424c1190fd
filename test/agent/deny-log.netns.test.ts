// Logging of refused connections with real traffic: a cell namespace programmed by the real agent,
// one ulogd (Debian's ulogd2) inside the cell's namespace reading the NFLOG group into JSON lines, and
// the real `agent logs` enriching them with the container's identity. Each container's log rules
// share one limit of one line per second (burst 1), so tests on one container leave a second between them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderUlogdConfig } from '../../agent/logging/ulogd-config.js';
import { renderRuleSpec } from '../../agent/render.js';
import { connectionLoggingUnits } from '../../lib/cell-logging-units.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../helpers/lab-cell.js';
import { app, policyList, tcp } from './fixtures.js';
import { ownedFilterState } from './kernel-state.js';
import { runAgentCommand } from './run-agent.js';

const ULOGD = '/usr/sbin/ulogd';
const ENTRY = resolve(import.meta.dirname, '../../bin/agent.ts');
const EXTERNAL = '198.51.100.10';
const ALLOWED_PORT = 8000;
const DENIED_PORT = 9000;
const UDP_PORT = 5353;
const GROUP = 100;
const IP = { a: '10.255.1.2', b: '10.255.1.3', unlisted: '10.255.1.4' };

/** Why ulogd cannot be used here, or undefined. */
function ulogdProblem(): string | undefined {
  const result = spawnSync(ULOGD, ['--version'], { stdio: 'ignore' });
  if (result.error !== undefined || result.status !== 0) return `${ULOGD} is missing (apt-get install ulogd2)`;
  return undefined;
}

/** Like labAvailable: under CI=true a missing ulogd fails the file instead of skipping it. */
function ulogdAvailable(): boolean {
  const problem = ulogdProblem();
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`deny-log test prerequisites missing: ${problem}`);
  console.warn(`deny-log tests not run: ${problem}`);
  return false;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface LogLine {
  message: string;
  data: {
    packet: Record<string, string | number | boolean>;
    source: { container_id: string; app_guid: string; space_guid: string; organization_guid: string };
  };
}

/** Processes this file started; killed in afterAll and, as a safety net, when the process exits. */
const children = new Set<ChildProcess>();
const killAll = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', killAll);

describe.runIf(labAvailable() && ulogdAvailable())('deny log on a real cell: NFLOG → ulogd → agent logs', () => {
  let lab: Lab;
  let cell: string;
  let a: LabContainer;
  let b: LabContainer;
  let unlisted: LabContainer;
  let forwarder: ChildProcess;
  let forwarderStderr = '';
  let ulogdPid = 0;
  const dir = mkdtempSync(join(tmpdir(), 'deny-log-'));
  const files = {
    store: join(dir, 'store.json'),
    policies: join(dir, 'policies.json'),
    ulogdConf: join(dir, 'ulogd.conf'),
    ulogdJson: join(dir, 'ulogd.json'),
    ulogdLog: join(dir, 'ulogd.log'),
    out: join(dir, 'egress.log'),
  };

  const sync = (...flags: string[]) =>
    runAgentCommand(['sync', '--policies', files.policies, '--containers', files.store, '--netns', cell, ...flags]);
  /** Every line written, the file logrotate moved away included. */
  const output = (): LogLine[] =>
    [`${files.out}.1`, files.out]
      .filter((file) => existsSync(file))
      .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  const linesFrom = (ip: string) => output().filter((line) => line.data.packet.src_ip === ip);
  /** Waits until `ip` has at least `count` lines, then a little longer for any that should not come. */
  const settle = async (ip: string, count: number): Promise<LogLine[]> => {
    const deadline = Date.now() + 5000;
    while (linesFrom(ip).length < count && Date.now() < deadline) await sleep(50);
    await sleep(700);
    return linesFrom(ip);
  };

  beforeAll(async () => {
    lab = await createLab({
      tag: 'denylog',
      cells: [{ ips: [IP.a, IP.b, IP.unlisted] }],
      external: { addresses: [EXTERNAL], tcpPorts: [ALLOWED_PORT, DENIED_PORT], udpPorts: [UDP_PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [a, b, unlisted] = containersOf(cellInfo, 3);
    writeFileSync(
      files.store,
      JSON.stringify({
        'handle-a': {
          handle: 'handle-a',
          ip: IP.a,
          metadata: { app_id: 'app-a', space_id: 'space-1', org_id: 'org-1' },
        },
        'handle-b': {
          handle: 'handle-b',
          ip: IP.b,
          metadata: { app_id: 'app-b', space_id: 'space-2', org_id: 'org-2' },
        },
      }),
    );
    writeFileSync(
      files.policies,
      JSON.stringify(policyList([tcp('p1', app('app-a'), [EXTERNAL, EXTERNAL], [ALLOWED_PORT, ALLOWED_PORT])])),
    );
    const synced = await sync();
    expect([synced.code, synced.stderr]).toEqual([0, '']);

    // ulogd in the cell's namespace (NFLOG groups are per namespace), in the foreground.
    writeFileSync(
      files.ulogdConf,
      renderUlogdConfig({ group: GROUP, output: files.ulogdJson, logfile: files.ulogdLog }),
    );
    // `ip netns exec` execs the command: the child's pid is ulogd's.
    const ulogd = spawn('ip', ['netns', 'exec', cell, ULOGD, '-c', files.ulogdConf], { stdio: 'ignore' });
    children.add(ulogd);
    ulogdPid = ulogd.pid ?? 0;
    // Ready when a packet of a probe rule in the cell's own OUTPUT reaches the file (another prefix,
    // which the forwarder counts and skips).
    const probeRule = [
      'OUTPUT',
      '-p',
      'icmp',
      '-j',
      'NFLOG',
      '--nflog-group',
      `${GROUP}`,
      '--nflog-prefix',
      'dl-ready',
    ];
    await lab.execOk(cell, ['iptables', '-I', ...probeRule]);
    const deadline = Date.now() + 10_000;
    while (!(existsSync(files.ulogdJson) && readFileSync(files.ulogdJson, 'utf8').includes('dl-ready'))) {
      if (Date.now() > deadline)
        throw new Error(`ulogd did not log: ${existsSync(files.ulogdLog) ? readFileSync(files.ulogdLog, 'utf8') : ''}`);
      await lab.exec(cell, ['ping', '-n', '-q', '-c1', '-W1', EXTERNAL]);
      await sleep(100);
    }
    await lab.execOk(cell, ['iptables', '-D', ...probeRule]);

    // The forwarder on the host, as on a cell; from the start so nothing written before it runs is lost.
    forwarder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        ENTRY,
        'logs',
        '--containers',
        files.store,
        '--input',
        files.ulogdJson,
        '--output',
        files.out,
        '--from-start',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.add(forwarder);
    forwarder.stderr?.on('data', (chunk: Buffer) => {
      forwarderStderr += chunk.toString();
    });
    // Let every container's token refill after the ready probes (they were not the containers').
    await sleep(1100);
  }, 90_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders the log rules as iptables-save prints them back: a second sync changes nothing', async () => {
    const saved = await ownedFilterState(lab, cell);
    const action = { kind: 'nflog', group: GROUP, prefix: 'dyneg-denied' } as const;
    const perContainer = renderRuleSpec({ match: { limitPerSource: { count: 1, per: 'second' } }, action });
    const catchAll = renderRuleSpec({ match: { limit: { count: 1, per: 'second' } }, action });
    // One log rule per listed container (a limit by source address), one in the catch-all for unlisted sources.
    expect(saved.split('\n').filter((line) => line.endsWith(perContainer))).toHaveLength(2);
    expect(saved.split('\n').filter((line) => line.endsWith(catchAll))).toHaveLength(1);
    for (const flags of [[], ['--verify', 'full']]) {
      const again = await sync(...flags);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ changed: false });
    }
  });

  it('writes exactly one enriched line for one refused TCP connection, with the container identity', async () => {
    expect(await lab.tcp(b, EXTERNAL, DENIED_PORT)).toBe('refused');
    const lines = await settle(IP.b, 1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      source: 'dynamic-egress',
      message: 'dynamic-egress.egress-denied',
      log_level: 1,
      data: {
        packet: {
          direction: 'egress',
          allowed: false,
          src_ip: IP.b,
          dst_ip: EXTERNAL,
          dst_port: DENIED_PORT,
          protocol: 'TCP',
          icmp_type: 0,
          icmp_code: 0,
        },
        source: { container_id: 'handle-b', app_guid: 'app-b', space_guid: 'space-2', organization_guid: 'org-2' },
      },
    });
    expect(lines[0]?.data.packet.src_port).toBeGreaterThan(0);
  });

  it('writes nothing for allowed traffic', async () => {
    expect(await lab.tcp(a, EXTERNAL, ALLOWED_PORT)).toBe('open');
    await sleep(1000); // a line takes well under 100 ms from the kernel to the output file
    expect(linesFrom(IP.a)).toEqual([]);
  });

  it('holds the rate limit under a burst: 50 refused connections in under a second, at most 2 lines', async () => {
    await sleep(1100);
    const before = linesFrom(IP.b).length;
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => lab.tcp(b, EXTERNAL, DENIED_PORT)));
    const elapsed = Date.now() - started;
    expect(results.every((result) => result === 'refused')).toBe(true);
    expect(elapsed).toBeLessThan(1000);
    const burst = (await settle(IP.b, before + 1)).length - before;
    expect(burst).toBeGreaterThanOrEqual(1);
    expect(burst).toBeLessThanOrEqual(2);
  });

  it('holds one rate per container across its deny networks and its final refusal: a mixed burst, at most 2 lines', async () => {
    const denied = await sync('--deny-networks', '{"always":["203.0.113.0/28"],"running":["203.0.113.16/28"]}');
    try {
      expect([denied.code, denied.stderr]).toEqual([0, '']);
      await sleep(1100);
      const before = linesFrom(IP.b).length;
      const started = Date.now();
      // Routed out of the cell (its default route), so they meet the FORWARD rules.
      const targets = ['203.0.113.1', '203.0.113.17', EXTERNAL];
      const results = await Promise.all(
        Array.from({ length: 48 }, (_, i) => lab.tcp(b, targets[i % 3] ?? EXTERNAL, DENIED_PORT)),
      );
      expect(Date.now() - started).toBeLessThan(1000);
      expect(results.every((result) => result === 'refused')).toBe(true);
      // Three NFLOG rules refused them; each with its own limit would have logged at least 3.
      const burst = (await settle(IP.b, before + 1)).length - before;
      expect(burst).toBeGreaterThanOrEqual(1);
      expect(burst).toBeLessThanOrEqual(2);
    } finally {
      const restored = await sync();
      expect(restored.code).toBe(0);
    }
  });

  it('logs a refused UDP datagram with its ports and a refused ping with its ICMP type and code', async () => {
    await sleep(1100);
    expect(await lab.udp(a, EXTERNAL, UDP_PORT)).toBe('refused');
    const [udpLine] = await settle(IP.a, 1);
    expect(udpLine?.data.packet).toMatchObject({ protocol: 'UDP', dst_port: UDP_PORT, icmp_type: 0, icmp_code: 0 });
    expect(udpLine?.data.source).toMatchObject({
      container_id: 'handle-a',
      app_guid: 'app-a',
      organization_guid: 'org-1',
    });
    await sleep(1100);
    expect(await lab.ping(a, EXTERNAL)).toBe(false);
    const icmpLine = (await settle(IP.a, 2))[1];
    expect(icmpLine?.data.packet).toMatchObject({
      protocol: 'ICMP',
      src_port: 0,
      dst_port: 0,
      icmp_type: 8,
      icmp_code: 0,
    });
  });

  it('logs an unlisted overlay source without identity', async () => {
    expect(await lab.tcp(unlisted, EXTERNAL, DENIED_PORT)).toBe('refused');
    const lines = await settle(IP.unlisted, 1);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.data.source).toEqual({ container_id: '', app_guid: '', space_guid: '', organization_guid: '' });
  });

  it('names a container added to the containers file in its next line, without a restart', async () => {
    await sleep(1100);
    const store = JSON.parse(readFileSync(files.store, 'utf8')) as Record<string, unknown>;
    store['handle-b'] = {
      handle: 'handle-b2',
      ip: IP.b,
      metadata: { app_id: 'app-b2', space_id: 'space-2', org_id: 'org-2' },
    };
    writeFileSync(files.store, JSON.stringify(store));
    await sleep(500); // the forwarder reads the file again on its next poll
    const before = linesFrom(IP.b).length;
    expect(await lab.tcp(b, EXTERNAL, DENIED_PORT)).toBe('refused');
    const lines = await settle(IP.b, before + 1);
    expect(lines.at(-1)?.data.source).toMatchObject({ container_id: 'handle-b2', app_guid: 'app-b2' });
  });

  it('logs each accepted connection of a security group rule with log: true once, and none of one without', async () => {
    const plain = readFileSync(files.policies, 'utf8');
    const rule = (port: number, log: boolean) => ({
      protocol: 'tcp',
      ips: [{ start: EXTERNAL, end: EXTERNAL }],
      ports: [{ start: port, end: port }],
      ...(log ? { log: true } : {}),
    });
    writeFileSync(
      files.policies,
      JSON.stringify({
        ...JSON.parse(plain),
        // b's space may open DENIED_PORT, logged, and a's app port again through a group, unlogged.
        security_groups: {
          rules: [rule(DENIED_PORT, true), rule(ALLOWED_PORT, false)],
          bindings: [
            ['space', 'running', 'space-2', [0]],
            ['space', 'running', 'space-1', [1]],
          ],
        },
      }),
    );
    try {
      const synced = await sync();
      expect([synced.code, synced.stderr]).toEqual([0, '']);
      // Before the accept, in the binding's chain, as iptables-save prints it (a second sync changes nothing).
      const saved = (await ownedFilterState(lab, cell)).split('\n');
      const logged = saved.findIndex((line) =>
        line.endsWith(`--dport ${DENIED_PORT} -j NFLOG --nflog-prefix dyneg-allowed --nflog-group ${GROUP}`),
      );
      expect(logged).toBeGreaterThan(0);
      expect(saved[logged + 1]).toMatch(new RegExp(`--dport ${DENIED_PORT} -j ACCEPT$`));
      expect(JSON.parse((await sync('--verify', 'full')).stdout)).toMatchObject({ changed: false });
      const before = linesFrom(IP.b).length;
      expect(await lab.tcp(b, EXTERNAL, DENIED_PORT)).toBe('open');
      expect(await lab.tcp(b, EXTERNAL, DENIED_PORT)).toBe('open');
      const lines = (await settle(IP.b, before + 2)).slice(before);
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        expect(line).toMatchObject({
          message: 'dynamic-egress.egress-allowed',
          data: {
            packet: { allowed: true, src_ip: IP.b, dst_ip: EXTERNAL, dst_port: DENIED_PORT, protocol: 'TCP' },
            source: { container_id: 'handle-b2', app_guid: 'app-b2', space_guid: 'space-2' },
          },
        });
      }
      const fromA = linesFrom(IP.a).length;
      expect(await lab.tcp(a, EXTERNAL, ALLOWED_PORT)).toBe('open');
      await sleep(1000);
      expect(linesFrom(IP.a)).toHaveLength(fromA);
    } finally {
      writeFileSync(files.policies, plain);
      await sync();
    }
  });

  it('loses no line to a logrotate run of the cells configuration: ulogd reopens on SIGHUP, the forwarder follows', async () => {
    const config = join(dir, 'logrotate.conf');
    const { rotation } = connectionLoggingUnits({
      agentFile: join(dir, 'current.mjs'),
      agentBuild: 'build.mjs',
      containersPath: files.store,
      ulogdJsonFile: files.ulogdJson,
      outputFile: files.out,
      reopenUlogd: `kill -HUP ${ulogdPid}`,
    });
    writeFileSync(config, rotation);
    await sleep(1100);
    const before = linesFrom(IP.b).length;
    // -f: now, whatever the size (the cells' timer rotates past LOGROTATE_SIZE).
    const rotated = spawnSync('logrotate', ['-f', '-s', join(dir, 'logrotate.state'), config], { encoding: 'utf8' });
    expect([rotated.status, rotated.stderr]).toEqual([0, '']);
    expect(existsSync(`${files.ulogdJson}.1`)).toBe(true);
    expect(existsSync(`${files.out}.1`)).toBe(true);
    expect(existsSync(files.out)).toBe(false);

    expect(await lab.tcp(b, EXTERNAL, DENIED_PORT)).toBe('refused');
    const lines = await settle(IP.b, before + 1);
    expect(lines).toHaveLength(before + 1);
    // ulogd wrote it to a new file of the old name, and the forwarder to a new output file.
    expect(readFileSync(files.ulogdJson, 'utf8')).toContain(`"${IP.b}"`);
    const [line] = readFileSync(files.out, 'utf8').trim().split('\n');
    expect(JSON.parse(line ?? '{}')).toMatchObject({ data: { source: { container_id: 'handle-b2' } } });
  });

  it('logs nothing once logging is off, and the forwarder stops with exit 0 on SIGTERM', async () => {
    const off = await sync('--deny-log-rate', 'off');
    expect(off.code).toBe(0);
    expect(await ownedFilterState(lab, cell)).not.toContain('NFLOG');
    await sleep(1100);
    const before = output().length;
    expect(await lab.tcp(b, EXTERNAL, DENIED_PORT)).toBe('refused');
    await sleep(1000);
    expect(output()).toHaveLength(before);

    const exited = new Promise<number | null>((done) => forwarder.once('exit', (code) => done(code)));
    forwarder.kill('SIGTERM');
    expect(await exited).toBe(0);
    children.delete(forwarder);
    const summary = JSON.parse(forwarderStderr.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(summary).toMatchObject({ message: 'log forwarder stopped', unparseable: 0, lines: before });
    expect(summary.otherPrefix).toBeGreaterThan(0);
  });

  it('programs another group and a per-minute rate as iptables-save prints them', async () => {
    const custom = await sync('--deny-log-rate', '120/minute', '--log-group', '7');
    expect(custom.code).toBe(0);
    const saved = await ownedFilterState(lab, cell);
    expect(saved).toContain(
      '-m hashlimit --hashlimit-upto 2/sec --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name dyneg-deny-2s -j NFLOG --nflog-prefix dyneg-denied --nflog-group 7',
    );
    expect(saved).toMatch(
      /^-A dyneg-FORWARD -s 10\.255\.0\.0\/16 .*-m limit --limit 2\/sec --limit-burst 1 -j NFLOG --nflog-prefix dyneg-denied --nflog-group 7$/m,
    );
    const again = await sync('--deny-log-rate', '120/minute', '--log-group', '7', '--verify', 'full');
    expect(JSON.parse(again.stdout)).toMatchObject({ changed: false });
  });
});
