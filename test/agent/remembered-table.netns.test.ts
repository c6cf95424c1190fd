// A resident agent's change sync (remembered-table.ts), against a real kernel: while the kernel's
// record names its last apply, it reads back no chain beyond the record check's, never the whole
// table, rewrites the chains the change touches, and applies what a sync reading everything applies;
// a rule another writer put into a touched chain is still repaired; it reads the whole table when the
// record no longer names that apply, when too many chains change, after an apply that failed, and
// once its last whole read is older than the trust allows; a kernel refusal (a touched chain that is
// gone, a foreign jump into a dropped one) is tried again on a whole read.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { textDigest } from '../../agent/applied-record.js';
import { syncRecorded } from '../../agent/recorded-sync.js';
import { MOST_CHAINS_REWRITTEN } from '../../agent/remembered-table.js';
import { type CommandRunner, netnsRunner } from '../../agent/runner.js';
import { parseContainers, parsePolicies } from '../../agent/source/files.js';
import { SyncMemory, TRUST_REMEMBERED_MS } from '../../agent/sync-memory.js';
import { appChain, ROOT_CHAIN } from '../../core/plan/names.js';
import { labAvailable, run } from '../../local/lab/netns-lab.js';
import { app, containerStore, oneAppEach, policyList, tcp } from './fixtures.js';
import { ownedRulesAndSets } from './kernel-state.js';

const NS = { agent: `remembered-a-${process.pid}`, reference: `remembered-r-${process.pid}` } as const;
const APPS = 20;
const containers = parseContainers(JSON.stringify(containerStore(oneAppEach(APPS))));
/** Two destinations per app; `moved` apps have their second one elsewhere (a change to their chain). */
const policies = (moved: readonly number[] = []): string =>
  JSON.stringify(
    policyList(
      Array.from({ length: APPS }, (_, index) => {
        const second = moved.includes(index) ? `203.0.113.${index + 1}` : `198.51.101.${index + 1}`;
        return [
          tcp(`p${index}-a`, app(`app-${index}`), [`198.51.100.${index + 1}`, `198.51.100.${index + 1}`], [443, 443]),
          tcp(`p${index}-b`, app(`app-${index}`), [second, second], [5432, 5432]),
        ];
      }).flat(),
    ),
  );

/** Runs in the namespace and keeps each command line. */
function recordingRunner(ns: string): { runner: CommandRunner; commands: string[] } {
  const commands: string[] = [];
  const inNs = netnsRunner(ns);
  return {
    commands,
    runner: (command, args, input) => {
      commands.push([command, ...args].join(' '));
      return inNs(command, args, input);
    },
  };
}

const syncIn = (runner: CommandRunner, text: string, memory?: SyncMemory, lastInput?: string) =>
  syncRecorded(
    { policiesDigest: textDigest(text), policies: () => parsePolicies(text), containers },
    {
      runner,
      ...(memory === undefined ? {} : { memory }),
      ...(lastInput === undefined ? {} : { lastInput }),
    },
  );

const fullReads = (commands: readonly string[]) => commands.filter((line) => line.startsWith('iptables-save')).length;
const chainReads = (commands: readonly string[]) =>
  commands.filter((line) => line.startsWith('iptables -w -S ')).map((line) => line.slice('iptables -w -S '.length));

async function inNs(ns: string, argv: readonly string[]): Promise<void> {
  const result = await run(['ip', 'netns', 'exec', ns, ...argv]);
  if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
}

/** The reference namespace synced from scratch, by a sync that reads everything. */
async function reference(text: string): Promise<string> {
  await run(['ip', 'netns', 'del', NS.reference]);
  await run(['ip', 'netns', 'add', NS.reference]);
  await syncIn(netnsRunner(NS.reference), text);
  return ownedRulesAndSets(NS.reference);
}

/** Takes one of the agent's chains out of the kernel behind its back, with the jump into it. */
async function removeChain(chain: string): Promise<void> {
  await inNs(NS.agent, ['iptables', '-F', chain]);
  // A chain still jumped to cannot be deleted: take the container chain's jump out (by position).
  const saved = await run(['ip', 'netns', 'exec', NS.agent, 'iptables-save', '-t', 'filter']);
  const rules = saved.stdout.split('\n').filter((line) => line.startsWith('-A '));
  const jump = rules.find((line) => line.endsWith(`-j ${chain}`));
  const from = jump?.split(' ')[1] ?? '';
  const position = rules.filter((line) => line.startsWith(`-A ${from} `)).indexOf(jump ?? '') + 1;
  await inNs(NS.agent, ['iptables', '-D', from, String(position)]);
  await inNs(NS.agent, ['iptables', '-X', chain]);
}

describe.runIf(labAvailable())(
  'a resident agent rewriting what a change touches without reading it back, on a real kernel',
  () => {
    let memory: SyncMemory;
    let last: string;
    let clock = 0;

    beforeAll(async () => {
      for (const ns of Object.values(NS)) {
        await run(['ip', 'netns', 'del', ns]);
        const added = await run(['ip', 'netns', 'add', ns]);
        if (added.code !== 0) throw new Error(added.stderr);
      }
    });
    afterAll(async () => {
      for (const ns of Object.values(NS)) await run(['ip', 'netns', 'del', ns]);
    });
    beforeEach(async () => {
      await run(['ip', 'netns', 'del', NS.agent]);
      await run(['ip', 'netns', 'add', NS.agent]);
      clock = 1_000_000;
      memory = new SyncMemory(() => clock);
      last = (await syncIn(netnsRunner(NS.agent), policies(), memory)).input;
    });

    it('reads no chain beyond the record check, never the whole table, and applies what a full read applies', async () => {
      const change = recordingRunner(NS.agent);
      const result = await syncIn(change.runner, policies([3]), memory, last);
      expect(result.changed).toBe(true);
      expect(fullReads(change.commands)).toBe(0);
      expect(chainReads(change.commands)).toEqual(['FORWARD', ROOT_CHAIN]);
      expect(result.chainChanges.map(({ chain, action }) => [chain, action])).toContainEqual([
        appChain('app-3'),
        'rewritten',
      ]);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies([3])));
      // And the next change starts from what this one left.
      const next = recordingRunner(NS.agent);
      await syncIn(next.runner, policies([3, 4]), memory, result.input);
      expect(fullReads(next.commands)).toBe(0);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies([3, 4])));
    });

    it('drops a source in one transaction, reading nothing back', async () => {
      const kept = JSON.parse(policies()).egress_policies.filter(
        (policy: { source: { id: string } }) => policy.source.id !== 'app-5',
      );
      const without = JSON.stringify({ total_egress_policies: kept.length, egress_policies: kept });
      const change = recordingRunner(NS.agent);
      const result = await syncIn(change.runner, without, memory, last);
      expect(result.chainChanges.map(({ chain, action }) => [chain, action])).toContainEqual([
        appChain('app-5'),
        'deleted',
      ]);
      expect(change.commands.filter((line) => line.startsWith('iptables-restore'))).toHaveLength(1);
      expect(fullReads(change.commands)).toBe(0);
      expect(chainReads(change.commands)).toEqual(['FORWARD', ROOT_CHAIN]);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(without));
    });

    it('repairs a rule another writer put into a chain the change touches', async () => {
      await inNs(NS.agent, ['iptables', '-I', appChain('app-3'), '1', '-j', 'ACCEPT']);
      const change = recordingRunner(NS.agent);
      await syncIn(change.runner, policies([3]), memory, last);
      expect(fullReads(change.commands)).toBe(0);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies([3])));
    });

    it('reads the whole table when the record no longer names the remembered apply', async () => {
      // Another writer's apply (a fresh process syncing other policies) moves the record on.
      await syncIn(netnsRunner(NS.agent), policies([7]));
      const change = recordingRunner(NS.agent);
      await syncIn(change.runner, policies([3]), memory, last);
      expect(fullReads(change.commands)).toBe(1);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies([3])));
    });

    it('is refused, then reads the whole table, when a chain the change touches is gone', async () => {
      const chain = appChain('app-3');
      await removeChain(chain);
      const change = recordingRunner(NS.agent);
      await syncIn(change.runner, policies([3]), memory, last);
      expect(change.commands.filter((line) => line.startsWith('iptables-restore'))).toHaveLength(2);
      expect(fullReads(change.commands)).toBe(1);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies([3])));
    });

    it('is refused, then reads the whole table, when a chain the change drops is gone', async () => {
      await removeChain(appChain('app-5'));
      const kept = JSON.parse(policies()).egress_policies.filter(
        (policy: { source: { id: string } }) => policy.source.id !== 'app-5',
      );
      const without = JSON.stringify({ total_egress_policies: kept.length, egress_policies: kept });
      const change = recordingRunner(NS.agent);
      await syncIn(change.runner, without, memory, last);
      expect(change.commands.filter((line) => line.startsWith('iptables-restore'))).toHaveLength(2);
      expect(fullReads(change.commands)).toBe(1);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(without));
    });

    it('reads the whole table again once the last whole read is older than the trust allows', async () => {
      // Four minutes after the whole read: trusted; the sync it makes reads no whole table, so the
      // trust still counts from the first one.
      clock += TRUST_REMEMBERED_MS - 60_000;
      const trusted = recordingRunner(NS.agent);
      const changed = await syncIn(trusted.runner, policies([3]), memory, last);
      expect(fullReads(trusted.commands)).toBe(0);
      // A foreign rule in a chain the next change does not touch: repaired by the whole read that comes
      // once the trust is over.
      await inNs(NS.agent, ['iptables', '-I', appChain('app-9'), '1', '-j', 'ACCEPT']);
      clock += 2 * 60_000;
      const stale = recordingRunner(NS.agent);
      const again = await syncIn(stale.runner, policies([3, 4]), memory, changed.input);
      expect(fullReads(stale.commands)).toBe(1);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies([3, 4])));
      // That whole read starts the trust again.
      const next = recordingRunner(NS.agent);
      await syncIn(next.runner, policies([3]), memory, again.input);
      expect(fullReads(next.commands)).toBe(0);
    });

    it('tries again on a whole read when the kernel refuses a diff made on remembered chains', async () => {
      // A foreign jump from a chain the change leaves alone into the chain it drops: deleting that
      // chain fails. The whole read sees the foreign rule, replaces it, and the change goes in.
      await inNs(NS.agent, ['iptables', '-I', appChain('app-7'), '1', '-j', appChain('app-5')]);
      const kept = JSON.parse(policies()).egress_policies.filter(
        (policy: { source: { id: string } }) => policy.source.id !== 'app-5',
      );
      const without = JSON.stringify({ total_egress_policies: kept.length, egress_policies: kept });
      const change = recordingRunner(NS.agent);
      const result = await syncIn(change.runner, without, memory, last);
      expect(result.changed).toBe(true);
      expect(change.commands.filter((line) => line.startsWith('iptables-restore'))).toHaveLength(2);
      expect(fullReads(change.commands)).toBe(1);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(without));
    });

    it('does not try again when what failed came after the transaction, and reports that failure', async () => {
      // app-0 gets ten destinations on one service (a set); the change takes them away, so the set is
      // destroyed after the transaction, which a foreign rule using it makes fail.
      const withSet = JSON.stringify(
        policyList([
          ...JSON.parse(policies()).egress_policies,
          ...Array.from({ length: 10 }, (_, index) =>
            tcp(`wide-${index}`, app('app-0'), [`192.0.2.${index + 1}`, `192.0.2.${index + 1}`], [8443, 8443]),
          ),
        ]),
      );
      const before = await syncIn(netnsRunner(NS.agent), withSet, memory, last);
      const listed = await run(['ip', 'netns', 'exec', NS.agent, 'ipset', 'list', '-n']);
      const set = listed.stdout.split('\n').find((name) => name.startsWith('dyneg-'));
      if (set === undefined) throw new Error('no set');
      await inNs(NS.agent, ['iptables', '-A', 'INPUT', '-m', 'set', '--match-set', set, 'dst', '-j', 'ACCEPT']);
      const change = recordingRunner(NS.agent);
      await expect(syncIn(change.runner, policies(), memory, before.input)).rejects.toThrow(
        'in use by a kernel component',
      );
      // No second attempt: one transaction, and no whole read.
      expect(change.commands.filter((line) => line.startsWith('iptables-restore'))).toHaveLength(1);
      expect(fullReads(change.commands)).toBe(0);
      await inNs(NS.agent, ['iptables', '-F', 'INPUT']);
    });

    it(`reads the whole table when more than ${MOST_CHAINS_REWRITTEN} chains change`, async () => {
      const all = Array.from({ length: APPS }, (_, index) => index);
      const change = recordingRunner(NS.agent);
      await syncIn(change.runner, policies(all), memory, last);
      expect(fullReads(change.commands)).toBe(1);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies(all)));
    });

    it('forgets the remembered apply when an apply fails, and reads the whole table next', async () => {
      const failing: CommandRunner = (command, args, input) =>
        command === 'iptables-restore'
          ? Promise.resolve({ code: 1, stdout: '', stderr: 'iptables-restore: line 2 failed\n' })
          : netnsRunner(NS.agent)(command, args, input);
      await expect(syncIn(failing, policies([3]), memory, last)).rejects.toThrow();
      expect(memory.applied).toBeUndefined();
      const change = recordingRunner(NS.agent);
      await syncIn(change.runner, policies([3]), memory, last);
      expect(fullReads(change.commands)).toBe(1);
      expect(await ownedRulesAndSets(NS.agent)).toBe(await reference(policies([3])));
    });
  },
);
