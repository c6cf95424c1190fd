// Refresh passes against a real kernel (ipset in a namespace), with the lookups and the clock given
// by the test: sets created, rebuilt atomically under a rule that uses them, forgotten destinations'
// sets destroyed (or reported while a rule still uses them), other sets untouched; the sync keeps
// the host sets its plan matches (never their members), destroys the others once its rules stopped
// using them, and uninstall removes them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NAME_POLICY, type NamePolicy } from '../../../agent/names/name-state.js';
import { KERNEL_MARGIN_MS, NameRefresher } from '../../../agent/names/refresh.js';
import type { Lookup } from '../../../agent/names/resolve.js';
import { readNameStates } from '../../../agent/names/state-file.js';
import { type CommandRunner, netnsRunner } from '../../../agent/runner.js';
import { hostSetName, hostTempSetName } from '../../../core/plan/names.js';
import { createLab, type Lab, labAvailable } from '../../../local/lab/netns-lab.js';
import { containerStore, policyList } from '../fixtures.js';
import { runAgentCommand } from '../run-agent.js';
import { listedMembers } from './set-members.js';

const POLICY: NamePolicy = { ...DEFAULT_NAME_POLICY, ttlFloorMs: 10_000, graceMs: 60_000, maxAddresses: 3 };
const T0 = 1_800_000_000_000;
const A = hostSetName('dest-a', ['a.example.com']);
const AB = hostSetName('dest-ab', ['a.example.com', 'b.example.com']);
const B = hostSetName('dest-b', ['b.example.com']);

describe.runIf(labAvailable())('name refresh passes on a real kernel', () => {
  let lab: Lab;
  let ns: string;
  let runner: CommandRunner;
  const dir = mkdtempSync(join(tmpdir(), 'names-refresh-'));
  let now = T0;
  /** What each name answers now; a missing name fails. */
  let answers: Record<string, Lookup> = {};
  const asked: string[] = [];
  const refresher = () =>
    new NameRefresher({
      runner,
      resolve: async (name) => {
        asked.push(name);
        return answers[name] ?? { kind: 'failed', problem: 'lookup failed: ETIMEOUT' };
      },
      policy: POLICY,
      never: ['10.255.0.0/16'],
      stateDir: dir,
      now: () => now,
    });
  const answer = (ttl: number, ...addresses: string[]): Lookup => ({
    kind: 'answered',
    addresses: addresses.map((address) => ({ address, ttl })),
  });
  const members = async (set: string): Promise<string[]> => listedMembers(await lab.execOk(ns, ['ipset', 'list', set]));
  const setNames = async (): Promise<string[]> =>
    (await lab.execOk(ns, ['ipset', 'list', '-n'])).split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    lab = await createLab({ tag: 'namesref', cells: [{ ips: [] }], external: { addresses: [] } });
    ns = lab.cells[0]?.ns ?? '';
    runner = netnsRunner(ns);
    // An operator's set and one of the sync's: never touched by the names refresh.
    await lab.execOk(ns, ['ipset', 'create', 'operator', 'hash:ip']);
    await lab.execOk(ns, ['ipset', 'add', 'operator', '192.0.2.1']);
  });
  afterAll(async () => {
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates one set per destination holding its names allowed addresses, and saves the state', async () => {
    answers = {
      'a.example.com': answer(30, '198.51.100.1', '198.51.100.2'),
      'b.example.com': answer(300, '203.0.113.5', '127.0.0.1'),
    };
    const result = await refresher().pass([
      { id: 'dest-ab', hosts: ['a.example.com', 'b.example.com'] },
      { id: 'dest-b', hosts: ['b.example.com'] },
      { id: 'dest-a', hosts: ['a.example.com'] },
    ]);
    expect(result).toMatchObject({
      names: 2,
      lookedUp: 2,
      failed: 0,
      sets: 3,
      members: 6,
      setsCreated: 3,
      changed: true,
    });
    expect(result.problems).toEqual([
      { subject: 'b.example.com', problem: 'answer 127.0.0.1 refused: loopback (127.0.0.0/8)' },
    ]);
    // The earliest expiry: a.example.com's 30 s.
    expect(result.nextDelayMs).toBe(30_000);
    expect(await members(AB)).toEqual(['198.51.100.1', '198.51.100.2', '203.0.113.5']);
    expect(await members(B)).toEqual(['203.0.113.5']);
    expect(await members(A)).toEqual(['198.51.100.1', '198.51.100.2']);
    expect(await members('operator')).toEqual(['192.0.2.1']);
    expect([...readNameStates(dir).states.keys()]).toEqual(['a.example.com', 'b.example.com']);
  });

  it('a new process continues from the state: nothing is due before its expiry, and the sets are rewritten the same', async () => {
    asked.length = 0;
    now = T0 + 5_000;
    // A foreign hand changed a set: the pass repairs it, whatever was looked up.
    await lab.execOk(ns, ['ipset', 'add', AB, '192.0.2.99']);
    const result = await refresher().pass([
      { id: 'dest-ab', hosts: ['a.example.com', 'b.example.com'] },
      { id: 'dest-b', hosts: ['b.example.com'] },
      { id: 'dest-a', hosts: ['a.example.com'] },
    ]);
    expect(asked).toEqual([]);
    expect(result).toMatchObject({ lookedUp: 0, setsCreated: 0, nextDelayMs: 25_000 });
    expect(await members(AB)).toEqual(['198.51.100.1', '198.51.100.2', '203.0.113.5']);
  });

  it('swaps under a rule that uses the set; a forgotten destination set goes, unless a rule still uses it', async () => {
    await lab.execOk(ns, ['iptables', '-A', 'FORWARD', '-m', 'set', '--match-set', B, 'dst', '-j', 'ACCEPT']);
    await lab.execOk(ns, ['iptables', '-A', 'FORWARD', '-m', 'set', '--match-set', A, 'dst', '-j', 'ACCEPT']);
    // A leftover scratch set of a pass that died half-way.
    await lab.execOk(ns, ['ipset', 'create', hostTempSetName(A), 'hash:ip']);
    now = T0 + 30_000;
    answers = { 'a.example.com': answer(30, '198.51.100.3') };
    const keeper = refresher();
    const result = await keeper.pass([{ id: 'dest-a', hosts: ['a.example.com'] }]);
    expect(await members(A)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
    // AB, which no rule uses, goes; B stays.
    expect(result.setsDestroyed).toBe(1);
    expect(result.problems).toEqual([
      { subject: 'ipset', problem: expect.stringMatching(new RegExp(`^${B} not destroyed: ipset restore failed`)) },
    ]);
    expect((await setNames()).filter((name) => name.startsWith('dyneg-'))).toEqual([A, B].sort());
    // Once the rule is gone, the next pass destroys it.
    await lab.execOk(ns, ['iptables', '-D', 'FORWARD', '-m', 'set', '--match-set', B, 'dst', '-j', 'ACCEPT']);
    const again = await keeper.pass([{ id: 'dest-a', hosts: ['a.example.com'] }]);
    expect(again).toMatchObject({ setsDestroyed: 1, problems: [], changed: false });
    expect(await setNames()).toEqual([A, 'operator']);
  });

  it('after expiry + grace the old addresses leave the set', async () => {
    now = T0 + 30_000 + 10_000 + 60_000; // the 198.51.100.1-2 answer expired at +40 s (floor 10 s < TTL 30 s)
    answers = { 'a.example.com': answer(30, '198.51.100.3') };
    const result = await refresher().pass([{ id: 'dest-a', hosts: ['a.example.com'] }]);
    expect(result.changed).toBe(true);
    expect(await members(A)).toEqual(['198.51.100.3']);
  });

  it('agent sync keeps the host sets its plan matches (members untouched, not recorded), destroys the others; uninstall removes them', async () => {
    await lab.execOk(ns, ['iptables', '-D', 'FORWARD', '-m', 'set', '--match-set', A, 'dst', '-j', 'ACCEPT']);
    const store = join(dir, 'store.json');
    writeFileSync(store, JSON.stringify(containerStore([{ ip: '10.255.1.2', appId: 'app-1', spaceId: 'space-1' }])));
    const byName = {
      id: 'p-a',
      source: { type: 'app', id: 'app-1' },
      destination: {
        id: 'dest-a',
        name: 'a',
        ips: [],
        hosts: ['a.example.com'],
        ports: [{ start: 5432, end: 5432 }],
        protocol: 'tcp',
      },
    };
    const policies = JSON.stringify(policyList([byName as never]));
    const namesFile = join(dir, 'host-names.json');
    const sync = (text: string, ...more: string[]) =>
      runAgentCommand(
        ['sync', '--policies', '-', '--containers', store, '--netns', ns, '--names-file', namesFile, ...more],
        text,
      );
    const first = await sync(policies);
    expect(first.stderr).toBe('');
    expect(readFileSync(namesFile, 'utf8')).toBe('{"destinations":[{"id":"dest-a","hosts":["a.example.com"]}]}\n');
    expect(await members(A)).toEqual(['198.51.100.3']);
    expect(await lab.execOk(ns, ['iptables', '-S'])).toContain(`--match-set ${A} dst`);
    // The record holds although the host set changes size: the second sync changes nothing.
    await lab.execOk(ns, ['ipset', 'add', A, '198.51.100.9']);
    const second = await sync(policies);
    expect(JSON.parse(second.stdout.trim())).toMatchObject({ changed: false });
    expect(await members(A)).toEqual(['198.51.100.3', '198.51.100.9']);
    // A sync that reads every set back (--verify full) leaves it too.
    const full = await sync(policies, '--verify', 'full');
    expect(full.stderr).toBe('');
    expect(await members(A)).toEqual(['198.51.100.3', '198.51.100.9']);
    // Once no rule uses it, the sync that removed the rule destroys it.
    const without = await sync(JSON.stringify(policyList([])));
    expect(without.stderr).toBe('');
    expect(await setNames()).toEqual(['operator']);
    await lab.execOk(ns, ['ipset', 'create', B, 'hash:ip', 'family', 'inet']);
    const removed = await runAgentCommand(['uninstall', '--netns', ns]);
    expect(removed.code).toBe(0);
    expect(await setNames()).toEqual(['operator']);
  });
  it('gives every member a kernel timeout: with no refresh running, an address leaves its set at its grace end', async () => {
    // A set made before members had timeouts, with a member: the pass swaps a new one in all the same.
    const T = hostSetName('dest-t', ['t.example.com']);
    await lab.execOk(ns, ['ipset', 'create', T, 'hash:ip', 'family', 'inet']);
    await lab.execOk(ns, ['ipset', 'add', T, '192.0.2.7']);
    const stateDir = mkdtempSync(join(tmpdir(), 'names-timeout-'));
    try {
      const start = Date.now();
      const short = new NameRefresher({
        runner,
        // 1 s TTL and 1 s grace: the kernel keeps each address 2 s after this pass.
        resolve: async () => answer(1, '198.51.100.7'),
        policy: { ...POLICY, ttlFloorMs: 1_000, graceMs: 1_000 },
        never: [],
        stateDir,
        now: () => start,
        kernelMarginMs: 0,
      });
      await short.pass([{ id: 'dest-t', hosts: ['t.example.com'] }]);
      expect(await members(T)).toEqual(['198.51.100.7']);
      expect(await lab.execOk(ns, ['ipset', 'list', T])).toMatch(/^198\.51\.100\.7 timeout [12]$/m);
      // No pass after it: the kernel takes the address out by itself.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await members(T)).toEqual([]);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('keeps an address KERNEL_MARGIN_MS past its grace end, and never longer than an answer can give', async () => {
    const U = hostSetName('dest-u', ['u.example.com']);
    const stateDir = mkdtempSync(join(tmpdir(), 'names-margin-'));
    try {
      let clock = T0;
      const refresh = new NameRefresher({
        runner,
        resolve: async () => answer(20, '198.51.100.8'),
        policy: POLICY,
        never: [],
        stateDir,
        now: () => clock,
      });
      await refresh.pass([{ id: 'dest-u', hosts: ['u.example.com'] }]);
      // 20 s TTL + 60 s grace + the margin.
      const timeout = async () =>
        Number(/^198\.51\.100\.8 timeout (\d+)$/m.exec(await lab.execOk(ns, ['ipset', 'list', U]))?.[1]);
      expect(await timeout()).toBeGreaterThanOrEqual((20_000 + POLICY.graceMs + KERNEL_MARGIN_MS) / 1000 - 1);
      expect(await timeout()).toBeLessThanOrEqual((20_000 + POLICY.graceMs + KERNEL_MARGIN_MS) / 1000);
      // The clock stepped back a month: the expiry kept in memory is now a month ahead, the timeout not.
      clock = T0 - 30 * 86_400_000;
      await refresh.pass([{ id: 'dest-u', hosts: ['u.example.com'] }]);
      expect(await timeout()).toBeLessThanOrEqual((POLICY.ttlCeilingMs + POLICY.graceMs + KERNEL_MARGIN_MS) / 1000);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
