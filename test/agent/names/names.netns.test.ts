// `agent names` against a real resolver and a real kernel: dnsmasq in the lab's external namespace
// serves a name with a 1 s TTL, the agent runs inside the cell namespace (whose resolv.conf, from
// /etc/netns/<cell>/, names that server), and an iptables rule of the cell lets the container reach
// port 8000 only at the addresses of the destination's set. A change of the name's address is
// followed within TTL + refresh, the old address stays allowed for the grace and is refused after;
// a resolver that goes away leaves the last addresses until expiry + grace; a restarted agent
// continues from its state file.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRunner } from '../../../agent/runner.js';
import { hostSetName } from '../../../core/plan/names.js';
import { dnsmasqAvailable, type LabDns, startLabDns } from '../../../local/lab/lab-dns.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';
import { agentInNetns } from '../run-agent.js';
import { listedMembers } from './set-members.js';

const OLD = '198.51.100.10';
const NEW = '198.51.100.20';
const DNS = '198.51.100.53';
const PORT = 8000;
const NAME = 'db.lab.example';
const DESTINATION = 'dest-db';
const SET = hostSetName(DESTINATION, [NAME]);
const TTL_S = 1;
const GRACE_S = 4;
/** The loop's bounds: a pass at least every second. */
const REFRESH = ['--ttl-floor', '1', '--grace', String(GRACE_S), '--min-refresh', '0.2', '--max-refresh', '1'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(labAvailable() && dnsmasqAvailable())('agent names with a real resolver and real traffic', () => {
  let lab: Lab;
  let dns: LabDns;
  let cell: string;
  let container: LabContainer;
  let loop: ChildProcess | undefined;
  let loopOutput = '';
  const dir = mkdtempSync(join(tmpdir(), 'agent-names-'));
  const namesFile = join(dir, 'names.json');
  const stateDir = join(dir, 'state');
  let netnsEtc: string | undefined;

  const members = async (): Promise<string[]> => listedMembers(await lab.execOk(cell, ['ipset', 'list', SET]));
  const once = async (): Promise<{ code: number; stdout: string; stderr: string }> => {
    const [command = '', ...args] = agentInNetns(cell, [
      'names',
      '--names',
      namesFile,
      '--state-dir',
      stateDir,
      '--once',
      ...REFRESH,
    ]);
    return spawnRunner(command, args);
  };
  /** Connects to `ip` until refused: when (waitFor) and the last time it was open, in ms after `since`. */
  const openUntilRefused = async (ip: string, since: number, limitMs: number) => {
    let lastOpen = 0;
    const dropped = await waitFor(async () => {
      const open = (await lab.tcp(container, ip, PORT, 500)) === 'open';
      if (open) lastOpen = Date.now() - since;
      return !open;
    }, limitMs);
    return { dropped, lastOpen };
  };
  const startLoop = (): void => {
    const [command = '', ...args] = agentInNetns(cell, [
      'names',
      '--names',
      namesFile,
      '--state-dir',
      stateDir,
      ...REFRESH,
    ]);
    loop = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    loop.stdout?.on('data', (chunk: Buffer) => {
      loopOutput += chunk.toString();
    });
    loop.stderr?.on('data', (chunk: Buffer) => {
      loopOutput += chunk.toString();
    });
  };
  const stopLoop = async (): Promise<number | null> => {
    const running = loop;
    loop = undefined;
    if (running === undefined || running.exitCode !== null) return running?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
    running.kill('SIGTERM');
    return exited;
  };
  /** Polls `probe` every 100 ms until it holds, at most `limitMs`; the milliseconds it took, or -1. */
  const waitFor = async (probe: () => Promise<boolean>, limitMs: number): Promise<number> => {
    const start = Date.now();
    while (Date.now() - start < limitMs) {
      if (await probe()) return Date.now() - start;
      await sleep(100);
    }
    return -1;
  };

  beforeAll(async () => {
    lab = await createLab({
      tag: 'names',
      cells: [{ ips: ['10.255.1.2'] }],
      external: { addresses: [OLD, NEW, DNS], tcpPorts: [PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [container] = containersOf(cellInfo, 1);
    dns = await startLabDns({ ns: lab.external.ns, address: DNS, ttlSeconds: TTL_S, records: { [NAME]: [OLD] } });
    netnsEtc = join('/etc/netns', cell);
    mkdirSync(netnsEtc, { recursive: true });
    writeFileSync(join(netnsEtc, 'resolv.conf'), `# the lab's resolver\nnameserver ${DNS}\noptions edns0\n`);
    writeFileSync(namesFile, JSON.stringify({ destinations: [{ id: DESTINATION, hosts: [NAME] }, { id: 'plain' }] }));
  });

  afterAll(async () => {
    await stopLoop();
    await dns?.destroy();
    await lab?.destroy();
    if (netnsEtc !== undefined) rmSync(netnsEtc, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('--once resolves with the namespace resolv.conf and fills the destination set, which a rule then enforces', async () => {
    const result = await once();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const line = JSON.parse(result.stdout.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ message: 'names refreshed', names: 1, lookedUp: 1, failed: 0, sets: 1, members: 1 });
    expect(await members()).toEqual([OLD]);
    // The container may reach port 8000 only at the set's addresses.
    const match = ['-s', container.ip, '-p', 'tcp', '--dport', String(PORT)];
    await lab.execOk(cell, [
      'iptables',
      '-A',
      'FORWARD',
      ...match,
      '-m',
      'set',
      '--match-set',
      SET,
      'dst',
      '-j',
      'ACCEPT',
    ]);
    await lab.execOk(cell, ['iptables', '-A', 'FORWARD', ...match, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
    expect(await lab.tcp(container, OLD, PORT)).toBe('open');
    expect(await lab.tcp(container, NEW, PORT)).toBe('refused');
  });

  it('follows a changed address within TTL + refresh, keeps the old one for the grace, then refuses it', async () => {
    startLoop();
    // The process starts (1-2 s for node and tsx), passes once, then a few more times on the old answer.
    expect(await waitFor(async () => loopOutput.includes('"names refreshed"'), 15_000)).toBeGreaterThanOrEqual(0);
    await sleep(1500);
    const changed = Date.now();
    dns.setRecords({ [NAME]: [NEW] });
    const followed = await waitFor(async () => (await lab.tcp(container, NEW, PORT, 500)) === 'open', 10_000);
    // TTL 1 s + a pass at most every 1 s, with room for a loaded machine.
    expect(followed).toBeGreaterThanOrEqual(0);
    expect(followed).toBeLessThan((TTL_S + 1 + 2) * 1000);
    expect(await lab.tcp(container, OLD, PORT)).toBe('open');
    const { dropped, lastOpen } = await openUntilRefused(OLD, changed, 15_000);
    expect(dropped).toBeGreaterThanOrEqual(0);
    const droppedAt = Date.now() - changed;
    // The last answer with OLD came at most one pass (1 s) before the change: OLD is allowed until that
    // answer's expiry (1 s) + the grace, so never gone before the grace (less the pass) and gone soon after.
    expect(lastOpen).toBeGreaterThanOrEqual((GRACE_S - 0.5) * 1000);
    expect(droppedAt).toBeLessThan((TTL_S + GRACE_S + 1 + 3) * 1000);
    expect(await members()).toEqual([NEW]);
    expect(await lab.tcp(container, NEW, PORT)).toBe('open');
    expect(loop?.exitCode).toBeNull();
  }, 40_000);

  it('keeps the last addresses until expiry + grace when the resolver is gone, and follows it again when it is back', async () => {
    const stopped = Date.now();
    await dns.stop();
    const { dropped, lastOpen } = await openUntilRefused(NEW, stopped, 20_000);
    expect(dropped).toBeGreaterThanOrEqual(0);
    // Lookups fail (timeouts): the address stays for its expiry + grace, never longer.
    expect(lastOpen).toBeGreaterThanOrEqual((GRACE_S - 0.5) * 1000);
    expect(Date.now() - stopped).toBeLessThan((TTL_S + GRACE_S + 1 + 5) * 1000);
    expect(await members()).toEqual([]);
    expect(loop?.exitCode).toBeNull();
    expect(loopOutput).toContain('lookup failed');
    await dns.start();
    const back = await waitFor(async () => (await lab.tcp(container, NEW, PORT, 500)) === 'open', 15_000);
    expect(back).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('a restarted agent continues from its state file while the resolver is gone', async () => {
    expect(await stopLoop()).toBe(0);
    expect(loopOutput).toContain('names refresh stopped');
    const state = JSON.parse(readFileSync(join(stateDir, 'names.json'), 'utf8')) as {
      names: Record<string, { addresses: { address: string }[] }>;
    };
    expect(state.names[NAME]?.addresses.map((entry) => entry.address)).toEqual([NEW]);
    await dns.stop();
    // Past the TTL, so the name is due: the pass must look it up (and fail), not skip it.
    await sleep((TTL_S + 0.3) * 1000);
    const result = await once();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('lookup failed');
    expect(await members()).toEqual([NEW]);
    expect(await lab.tcp(container, NEW, PORT)).toBe('open');
    await dns.start();
  }, 30_000);
});
