// Host names end to end (issue 15 item 2): a published snapshot whose tcp policy's destination names
// `db.lab.example` → the agent's sync (its rules match the destination's host set, created empty;
// the names document written in its state directory) → `agent names --from-sync` in the cell
// namespace, resolving with dnsmasq in the lab's external namespace → real connections from a
// container. The name's address on the allowed port opens, another address or port does not; a
// changed answer is followed and the old address refused once its grace ends; a destination the
// sync adds is enforced within 2 s of the sync by a running refresh loop (it watches the document),
// not at its next expiry; a destination removed from the snapshot loses its access and its set.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textDigest } from '../../../agent/applied-record.js';
import { namesInputFile, SYNC_NAMES_FILE } from '../../../agent/names/names-file.js';
import { syncRecorded } from '../../../agent/recorded-sync.js';
import { type CommandRunner, netnsRunner, spawnRunner } from '../../../agent/runner.js';
import { sync } from '../../../agent/sync.js';
import { buildSnapshot, decodeSnapshot, encodeSnapshot, snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import type { Container } from '../../../core/plan/model.js';
import { hostSetName } from '../../../core/plan/names.js';
import { dnsmasqAvailable, type LabDns, startLabDns } from '../../../local/lab/lab-dns.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { tiedToParent } from '../../../local/parent-death.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';
import { agentInNetns } from '../run-agent.js';
import { listedMembers } from './set-members.js';

const OLD = '198.51.100.10';
const NEW = '198.51.100.20';
const OTHER = '198.51.100.30';
const API = '203.0.113.40';
const DNS = '198.51.100.53';
const PORT = 8000;
const OTHER_PORT = 8001;
const API_PORT = 8002;
const DB_NAME = 'db.lab.example';
const API_NAME = 'api.lab.example';
const TTL_S = 1;
const GRACE_S = 2;
const APP = 'app-1';
const SPACE = 'space-1';
const CONTAINER_IP = '10.255.1.2';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const byName = (id: string, host: string, port: number): EgressPolicy => ({
  id: `p-${id}`,
  source: { type: 'app', id: APP },
  destination: { id, name: id, ips: [], hosts: [host], ports: [{ start: port, end: port }], protocol: 'tcp' },
});
const DB = byName('dest-db', DB_NAME, PORT);
const API_DESTINATION = byName('dest-api', API_NAME, API_PORT);
const DB_SET = hostSetName('dest-db', [DB_NAME]);
const API_SET = hostSetName('dest-api', [API_NAME]);
/** dest-db under another name: the same destination id. */
const DB2_NAME = 'db2.lab.example';
const DB_RENAMED = byName('dest-db', DB2_NAME, PORT);

describe.runIf(labAvailable() && dnsmasqAvailable())('host names from a snapshot to real traffic', () => {
  let lab: Lab;
  let dns: LabDns;
  let cell: string;
  let container: LabContainer;
  let version = 0;
  let loop: ChildProcess | undefined;
  let loopOutput = '';
  const dir = mkdtempSync(join(tmpdir(), 'names-sync-'));
  const stateDir = join(dir, 'state');
  const namesFile = join(stateDir, SYNC_NAMES_FILE);
  let netnsEtc: string | undefined;
  const containers: Container[] = [{ ip: CONTAINER_IP, appId: APP, spaceId: SPACE, lifecycle: 'running' }];

  /** The cell's sync of a snapshot published with `policies` (encoded and decoded as cells read it). */
  const syncSnapshot = async (policies: readonly EgressPolicy[]) => {
    version += 1;
    const encoded = encodeSnapshot(buildSnapshot(version, policies));
    const list = snapshotToPolicyList(decodeSnapshot(encoded.bytes, encoded.sha256));
    return sync(list, containers, { runner: netnsRunner(cell), namesFile });
  };
  const namesArgs = ['--from-sync', '--state-dir', stateDir, '--ttl-floor', '1', '--grace', String(GRACE_S)];
  /** One `agent names --from-sync --once` in the cell namespace (its resolv.conf names the lab's DNS). */
  const namesOnce = async () => {
    const [command = '', ...args] = agentInNetns(cell, ['names', ...namesArgs, '--once']);
    const result = await spawnRunner(command, args);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout.trim()) as Record<string, unknown>;
  };
  const setNames = async (): Promise<string[]> =>
    (await lab.execOk(cell, ['ipset', 'list', '-n'])).split('\n').filter(Boolean).sort();
  const members = async (set: string): Promise<string[]> =>
    listedMembers(await lab.execOk(cell, ['ipset', 'list', set]));
  const tcp = (ip: string, port: number) => lab.tcp(container, ip, port, 500);
  /** Polls `probe` every 50 ms until it holds, at most `limitMs`; the milliseconds it took, or -1. */
  const waitFor = async (probe: () => Promise<boolean>, limitMs: number): Promise<number> => {
    const start = Date.now();
    while (Date.now() - start < limitMs) {
      if (await probe()) return Date.now() - start;
      await sleep(50);
    }
    return -1;
  };
  const stopLoop = async (): Promise<number | null> => {
    const running = loop;
    loop = undefined;
    if (running === undefined || running.exitCode !== null) return running?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
    running.kill('SIGTERM');
    return exited;
  };

  beforeAll(async () => {
    lab = await createLab({
      tag: 'namesync',
      cells: [{ ips: [CONTAINER_IP] }],
      external: { addresses: [OLD, NEW, OTHER, API, DNS], tcpPorts: [PORT, OTHER_PORT, API_PORT] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [container] = containersOf(cellInfo, 1);
    dns = await startLabDns({
      ns: lab.external.ns,
      address: DNS,
      ttlSeconds: TTL_S,
      records: { [DB_NAME]: [OLD], [API_NAME]: [API], [DB2_NAME]: [OTHER] },
    });
    netnsEtc = join('/etc/netns', cell);
    mkdirSync(netnsEtc, { recursive: true });
    writeFileSync(join(netnsEtc, 'resolv.conf'), `nameserver ${DNS}\n`);
  });

  afterAll(async () => {
    await stopLoop();
    await dns?.destroy();
    await lab?.destroy();
    if (netnsEtc !== undefined) rmSync(netnsEtc, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('the sync matches an empty host set (nothing open yet) and lists the destination in the names document', async () => {
    const result = await syncSnapshot([DB]);
    expect(result.stats.sets).toBe(0);
    expect(await setNames()).toEqual([DB_SET]);
    expect(await members(DB_SET)).toEqual([]);
    expect(JSON.parse(readFileSync(namesFile, 'utf8'))).toEqual({
      destinations: [{ id: 'dest-db', hosts: [DB_NAME] }],
    });
    // Fail closed until the name is resolved.
    expect(await tcp(OLD, PORT)).toBe('refused');
  });

  it('after one names pass: the name address on the allowed port, not another address, not another port', async () => {
    expect(await namesOnce()).toMatchObject({ names: 1, lookedUp: 1, failed: 0, sets: 1, members: 1 });
    expect(await tcp(OLD, PORT)).toBe('open');
    expect(await tcp(OLD, OTHER_PORT)).toBe('refused');
    expect(await tcp(OTHER, PORT)).toBe('refused');
    expect(await tcp(NEW, PORT)).toBe('refused');
    // A sync of the same snapshot again leaves the set's members alone.
    await syncSnapshot([DB]);
    expect(await members(DB_SET)).toEqual([OLD]);
    expect(await tcp(OLD, PORT)).toBe('open');
  });

  it('follows a changed answer: the new address after a pass, the old one refused once its grace ends', async () => {
    dns.setRecords({ [DB_NAME]: [NEW], [API_NAME]: [API], [DB2_NAME]: [OTHER] });
    // Past the TTL, so the next pass looks the name up again.
    await sleep((TTL_S + 0.2) * 1000);
    await namesOnce();
    expect(await tcp(NEW, PORT)).toBe('open');
    // Within its grace the old address stays (live connections are not cut at once).
    expect(await tcp(OLD, PORT)).toBe('open');
    await sleep(GRACE_S * 1000 + 200);
    await namesOnce();
    expect(await members(DB_SET)).toEqual([NEW]);
    expect(await tcp(OLD, PORT)).toBe('refused');
    expect(await tcp(NEW, PORT)).toBe('open');
  }, 20_000);

  it('a running refresh loop enforces a destination the sync adds within 2 s, not at its next expiry', async () => {
    // A TTL floor of 5 minutes: no expiry can explain a pass soon after the sync, only the watch.
    const [command = '', ...args] = agentInNetns(cell, [
      'names',
      ...namesArgs,
      '--ttl-floor',
      '300',
      '--min-refresh',
      '0.2',
      '--max-refresh',
      '300',
    ]);
    // Tied to this process: a test run that dies does not leave it running.
    const [tied = '', ...tiedArgs] = tiedToParent([command, ...args]);
    loop = spawn(tied, tiedArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    loop.stdout?.on('data', (chunk: Buffer) => {
      loopOutput += chunk.toString();
    });
    loop.stderr?.on('data', (chunk: Buffer) => {
      loopOutput += chunk.toString();
    });
    // Its first pass (node and tsx start in 1-2 s), then it sleeps for minutes.
    expect(await waitFor(async () => loopOutput.includes('"names refreshed"'), 15_000)).toBeGreaterThanOrEqual(0);
    await sleep(500);
    expect(await tcp(API, API_PORT)).toBe('refused');
    await syncSnapshot([DB, API_DESTINATION]);
    // From the end of the sync: the watch checks every 250 ms, then one lookup and one ipset restore.
    const opened = await waitFor(async () => (await tcp(API, API_PORT)) === 'open', 10_000);
    expect(opened, loopOutput).toBeGreaterThanOrEqual(0);
    expect(opened, `open ${opened} ms after the sync`).toBeLessThan(2000);
    expect(await tcp(API, PORT)).toBe('refused');
    expect(await tcp(NEW, PORT)).toBe('open');
    expect(loop?.exitCode).toBeNull();
  }, 40_000);

  it("a destination whose names change: the old name's address is refused from the end of the sync, the new name's opens once the refresh looked it up", async () => {
    expect(await tcp(NEW, PORT)).toBe('open');
    await syncSnapshot([DB_RENAMED, API_DESTINATION]);
    // A new set for the new names (empty until the refresh fills it); the old one is gone with its rule.
    expect(await tcp(NEW, PORT)).toBe('refused');
    expect(await setNames()).toEqual([API_SET, hostSetName('dest-db', [DB2_NAME])].sort());
    const opened = await waitFor(async () => (await tcp(OTHER, PORT)) === 'open', 10_000);
    expect(opened, loopOutput).toBeGreaterThanOrEqual(0);
    expect(opened, `open ${opened} ms after the sync`).toBeLessThan(2000);
    expect(await tcp(NEW, PORT)).toBe('refused');
    // And back: the first name again.
    await syncSnapshot([DB, API_DESTINATION]);
    expect(await tcp(OTHER, PORT)).toBe('refused');
    expect(await waitFor(async () => (await tcp(NEW, PORT)) === 'open', 10_000), loopOutput).toBeGreaterThanOrEqual(0);
  }, 40_000);

  it('a destination removed from the snapshot loses its access at once, and the sync destroys its set', async () => {
    await syncSnapshot([API_DESTINATION]);
    expect(await tcp(NEW, PORT)).toBe('refused');
    expect(await tcp(API, API_PORT)).toBe('open');
    expect(await setNames()).toEqual([API_SET]);
    expect(JSON.parse(readFileSync(namesFile, 'utf8'))).toEqual({
      destinations: [{ id: 'dest-api', hosts: [API_NAME] }],
    });
    // The loop follows the document without creating the removed destination's set again.
    await sleep(1000);
    expect(await setNames()).toEqual([API_SET]);
    expect(await tcp(NEW, PORT)).toBe('refused');
    // Nothing by name left: no set, nothing open.
    await syncSnapshot([]);
    expect(await setNames()).toEqual([]);
    expect(await tcp(API, API_PORT)).toBe('refused');
    await sleep(1000);
    expect(await setNames()).toEqual([]);
    expect(await stopLoop()).toBe(0);
    expect(loopOutput).not.toContain('"level":"ERROR"');
  }, 20_000);

  it('the names document follows the rules in force: a failed apply leaves it, and a record that holds with a document written for other inputs plans again', async () => {
    const renamed = byName('dest-db', API_NAME, PORT);
    const recorded = (policies: readonly EgressPolicy[], runner: CommandRunner = netnsRunner(cell)) => {
      const list = snapshotToPolicyList(buildSnapshot(1, policies));
      return syncRecorded(
        { policiesDigest: textDigest(JSON.stringify(policies)), policies: () => list, containers },
        { runner, namesFile },
      );
    };
    const hosts = (): unknown => JSON.parse(readFileSync(namesFile, 'utf8')).destinations;
    await recorded([DB]);
    expect(hosts()).toEqual([{ id: 'dest-db', hosts: [DB_NAME] }]);
    const applied = { document: readFileSync(namesFile), input: readFileSync(namesInputFile(namesFile)) };
    // The same destination, other names; its transaction fails: the rules in force still allow
    // DB_NAME, and so must the document the refresh fills the set from.
    const failing: CommandRunner = (command, args, input) =>
      command === 'iptables-restore'
        ? Promise.resolve({ code: 1, stdout: '', stderr: 'iptables-restore: injected failure' })
        : netnsRunner(cell)(command, args, input);
    await expect(recorded([renamed], failing)).rejects.toThrow(/iptables-restore failed/);
    expect(hosts()).toEqual([{ id: 'dest-db', hosts: [DB_NAME] }]);
    // Applied; then the document and its input as an apply cut short before writing them leaves them.
    await recorded([renamed]);
    expect(hosts()).toEqual([{ id: 'dest-db', hosts: [API_NAME] }]);
    writeFileSync(namesFile, applied.document);
    writeFileSync(namesInputFile(namesFile), applied.input);
    const repaired = await recorded([renamed]);
    expect(repaired.recordHeld).toBe(false);
    expect(hosts()).toEqual([{ id: 'dest-db', hosts: [API_NAME] }]);
    // Written for these inputs, the record is enough again.
    expect((await recorded([renamed])).recordHeld).toBe(true);
  });
});
