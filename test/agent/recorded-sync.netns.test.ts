// The record a sync leaves in the kernel (applied-record.ts), against a real kernel: unchanged inputs
// stop after three short reads without parsing anything; any changed input, and the drifts the cheap
// reads can see (the hook, the root chain, a set's size), lead to a full plan and repair; a drift they
// cannot see (a rule inside a container chain) is repaired by `verify: 'full'`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textDigest } from '../../agent/applied-record.js';
import { syncRecorded } from '../../agent/recorded-sync.js';
import { netnsRunner } from '../../agent/runner.js';
import { parseContainers, parsePolicies } from '../../agent/source/files.js';
import { SyncMemory } from '../../agent/sync-memory.js';
import { labAvailable, run } from '../../local/lab/netns-lab.js';
import { app, containerStore, policyList, space, tcp } from './fixtures.js';
import { ownedRulesAndSets } from './kernel-state.js';

const NS = `recorded-sync-${process.pid}`;
// Every other address: each one its own entry of the set (the tests take one out).
const SET_DESTINATIONS = Array.from({ length: 10 }, (_, index) => `192.0.2.${2 * index + 1}`);
const policiesText = JSON.stringify(
  policyList([
    tcp('p1', app('app-a'), ['198.51.100.10', '198.51.100.10'], [8000, 8000]),
    ...SET_DESTINATIONS.map((ip, index) => tcp(`s${index}`, space('space-1'), [ip, ip], [443, 443])),
  ]),
);
const containers = parseContainers(
  JSON.stringify(containerStore([{ ip: '10.255.1.2', appId: 'app-a', spaceId: 'space-1' }])),
);

async function inNs(argv: readonly string[]): Promise<string> {
  const result = await run(['ip', 'netns', 'exec', NS, ...argv]);
  if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Everything of ours in the kernel. */
const ownedKernel = (): Promise<string> => ownedRulesAndSets(NS);

const runner = netnsRunner(NS);
const syncText = (text: string, extra: Parameters<typeof syncRecorded>[1] = {}) =>
  syncRecorded(
    { policiesDigest: textDigest(text), policies: () => parsePolicies(text), containers },
    { runner, ...extra },
  );
const unparsable = (): never => {
  throw new Error('parsed although the record held');
};

describe.runIf(labAvailable())('recorded sync on a real kernel', () => {
  let applied: string;

  beforeAll(async () => {
    await run(['ip', 'netns', 'del', NS]);
    const added = await run(['ip', 'netns', 'add', NS]);
    if (added.code !== 0) throw new Error(added.stderr);
  });
  afterAll(async () => {
    await run(['ip', 'netns', 'del', NS]);
  });

  it('applies and records on the first sync, then stops at the record without parsing', async () => {
    const first = await syncText(policiesText);
    expect([first.recordHeld, first.changed]).toEqual([false, true]);
    applied = await ownedKernel();
    expect(applied).toContain('dyneg-record:');

    const again = await syncRecorded(
      { policiesDigest: textDigest(policiesText), policies: unparsable, containers },
      { runner },
    );
    expect([again.recordHeld, again.changed, again.payload]).toEqual([true, false, undefined]);
    // The early stop reports the size of what is in force, from the record.
    expect(again.stats).toMatchObject({ chains: first.stats.chains, rules: first.stats.rules, sets: first.stats.sets });
    expect(await ownedKernel()).toBe(applied);
  });

  it('plans again when the policies, the containers or a setting changed', async () => {
    const moved = policiesText.replaceAll('198.51.100.10', '198.51.100.11');
    const changed = await syncText(moved);
    expect([changed.recordHeld, changed.changed]).toEqual([false, true]);
    expect((await syncText(moved)).recordHeld).toBe(true);

    const allow = await syncText(moved, { unknownSources: 'allow' });
    expect([allow.recordHeld, allow.changed]).toEqual([false, true]);

    const more = parseContainers(
      JSON.stringify(
        containerStore([
          { ip: '10.255.1.2', appId: 'app-a', spaceId: 'space-1' },
          { ip: '10.255.1.3', appId: 'app-b', spaceId: 'space-1' },
        ]),
      ),
    );
    const grown = await syncRecorded(
      { policiesDigest: textDigest(moved), policies: () => parsePolicies(moved), containers: more },
      { runner, unknownSources: 'allow' },
    );
    expect([grown.recordHeld, grown.changed]).toEqual([false, true]);

    // Back to the first inputs: the kernel is byte for byte what the first sync left.
    await syncText(policiesText);
    expect(await ownedKernel()).toBe(applied);
  });

  it("skips the record's reads for inputs that differ from the caller's last apply, and still repairs", async () => {
    const moved = policiesText.replaceAll('198.51.100.10', '198.51.100.12');
    const first = await syncText(policiesText);
    expect(first.recordHeld).toBe(true);
    // Drift the record's reads would have seen: the hook gone, a set short of a member.
    await inNs(['iptables', '-w', '-D', 'FORWARD', '1']);
    const set = (await inNs(['ipset', 'list', '-n'])).split('\n').find((name) => name.startsWith('dyneg-n-'));
    await inNs(['ipset', 'del', set ?? '', '192.0.2.1']);
    const commands: string[] = [];
    const counting: typeof runner = (command, args, input) => {
      commands.push(`${command} ${args.join(' ')}`);
      return runner(command, args, input);
    };
    const changed = await syncText(moved, { runner: counting, lastInput: first.input });
    expect([changed.recordHeld, changed.changed, changed.hookInserted]).toEqual([false, true, true]);
    expect(changed.input).not.toBe(first.input);
    // Two reads (rules, set headers), the sets' repair, one transaction; no record read, no listing after.
    expect(commands.filter((command) => !command.startsWith('ipset restore'))).toEqual([
      'iptables-save -t filter',
      'ipset list -t',
      'iptables-restore -w --noflush',
    ]);
    expect((await syncText(moved, { lastInput: changed.input })).recordHeld).toBe(true);

    // Back, told the wrong last input (a stale state file): a plan that finds what it needs.
    await syncText(policiesText, { lastInput: changed.input });
    const told = await syncText(policiesText, { lastInput: changed.input });
    expect([told.recordHeld, told.changed]).toEqual([false, false]);
    expect(await ownedKernel()).toBe(applied);
  });

  it.each([
    ['the FORWARD hook deleted', ['iptables', '-w', '-D', 'FORWARD', '1']],
    ['a root chain rule deleted', ['iptables', '-w', '-D', 'dyneg-FORWARD', '2']],
    ['the record rule deleted', ['iptables', '-w', '-D', 'dyneg-FORWARD', '1']],
  ])('sees %s with the cheap reads and repairs it', async (_case, damage) => {
    await inNs(damage);
    const repaired = await syncText(policiesText);
    expect([repaired.recordHeld, repaired.changed]).toEqual([false, true]);
    expect(await ownedKernel()).toBe(applied);
  });

  it('sees a set that lost members by its size and repairs it', async () => {
    const set = (await inNs(['ipset', 'list', '-n'])).split('\n').find((name) => name.startsWith('dyneg-n-'));
    expect(set).toBeDefined();
    await inNs(['ipset', 'del', set ?? '', '192.0.2.1']);
    const repaired = await syncText(policiesText);
    expect([repaired.recordHeld, repaired.changed]).toEqual([false, true]);
    expect(await ownedKernel()).toBe(applied);
  });

  it('misses a rule deleted inside a container chain until a full verify, which repairs it', async () => {
    const chain = (await inNs(['iptables-save', '-t', 'filter']))
      .split('\n')
      .find((line) => line.startsWith(':dyneg-c-'))
      ?.slice(1)
      .split(' ')[0];
    expect(chain).toBeDefined();
    await inNs(['iptables', '-w', '-D', chain ?? '', '2']);
    const cheap = await syncRecorded(
      { policiesDigest: textDigest(policiesText), policies: unparsable, containers },
      { runner },
    );
    expect(cheap.recordHeld).toBe(true);
    expect(await ownedKernel()).not.toBe(applied);

    const full = await syncText(policiesText, { verify: 'full' });
    expect([full.recordHeld, full.changed]).toEqual([false, true]);
    expect(full.stats.rulesWritten).toBeGreaterThan(0);
    expect(await ownedKernel()).toBe(applied);
  });

  it('applies the same with a resident memory (sync-memory.ts) as without, change after change', async () => {
    const memory = new SyncMemory();
    await syncText(policiesText, { memory });
    expect(await ownedKernel()).toBe(applied);
    // One of the space's set destinations and the app's own rule change; the memory plans only those.
    const moved = policiesText.replaceAll('198.51.100.10', '198.51.100.12').replaceAll('192.0.2.19', '192.0.2.20');
    const changed = await syncText(moved, { memory });
    expect(changed.changed).toBe(true);
    const afterChange = await ownedKernel();
    expect(afterChange).toContain('192.0.2.20');
    // A sync from nothing, reading everything back, finds nothing to repair.
    const check = await syncText(moved, { verify: 'full' });
    expect(check.changed).toBe(false);
    expect(await ownedKernel()).toBe(afterChange);
    // And back: byte for byte what the first sync left.
    await syncText(policiesText, { memory });
    expect(await ownedKernel()).toBe(applied);
  });
});
