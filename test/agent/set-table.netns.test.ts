// Growing the kernel's table of sets before a sync (set-table.ts), against a real kernel: a cell
// whose last apply held many sets grows it while it parses when the kernel holds few (a reboot), by
// what the kernel lacks, and leaves the kernel as a sync without it does; not for plans within the
// table's initial room; and a placeholder a killed restore left behind is removed by the next sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textDigest } from '../../agent/applied-record.js';
import { syncRecorded } from '../../agent/recorded-sync.js';
import { type CommandRunner, netnsRunner } from '../../agent/runner.js';
import { GROW_SET_PREFIX, growSetTable } from '../../agent/set-table.js';
import { parseContainers, parsePolicies } from '../../agent/source/files.js';
import { labAvailable, run } from '../../local/lab/netns-lab.js';
import { app, containerStore, policyList, tcp } from './fixtures.js';
import { ownedRulesAndSets } from './kernel-state.js';

const NS = [`set-table-a-${process.pid}`, `set-table-b-${process.pid}`] as const;
// Twelve apps with ten destinations each on one service: a set each.
const policies = (port: number) =>
  JSON.stringify(
    policyList(
      Array.from({ length: 120 }, (_, index) => {
        const ip = `198.51.${100 + Math.floor(index / 10)}.${(index % 10) + 1}`;
        return tcp(`p${index}`, app(`app-${Math.floor(index / 10)}`), [ip, ip], [port, port]);
      }),
    ),
  );
const containers = parseContainers(
  JSON.stringify(
    containerStore(
      Array.from({ length: 12 }, (_, index) => ({
        ip: `10.255.1.${index + 2}`,
        appId: `app-${index}`,
        spaceId: 'space-1',
      })),
    ),
  ),
);

/** Runs in the namespace and keeps every `ipset restore` input it was given. */
function loggingRunner(ns: string): { runner: CommandRunner; restores: string[] } {
  const restores: string[] = [];
  const inNs = netnsRunner(ns);
  return {
    restores,
    runner: (command, args, input) => {
      if (command === 'ipset' && args[0] === 'restore') restores.push(input ?? '');
      return inNs(command, args, input);
    },
  };
}

const syncIn = (runner: CommandRunner, text: string, expectedSets?: number) =>
  syncRecorded(
    { policiesDigest: textDigest(text), policies: () => parsePolicies(text), containers },
    { runner, ...(expectedSets === undefined ? {} : { expectedSets }) },
  );
const placeholdersIn = (restores: readonly string[]) =>
  restores
    .join('\n')
    .split('\n')
    .filter((line) => line.startsWith(`create ${GROW_SET_PREFIX}`)).length;

describe.runIf(labAvailable())('growing the table of sets before a sync, on a real kernel', () => {
  beforeAll(async () => {
    for (const ns of NS) {
      await run(['ip', 'netns', 'del', ns]);
      const added = await run(['ip', 'netns', 'add', ns]);
      if (added.code !== 0) throw new Error(added.stderr);
    }
  });
  afterAll(async () => {
    for (const ns of NS) await run(['ip', 'netns', 'del', ns]);
  });

  it('grows it into an empty kernel when the last apply held many sets, and applies what a sync without it applies', async () => {
    const grown = loggingRunner(NS[0]);
    const result = await syncIn(grown.runner, policies(443), 600);
    expect(result.stats.sets).toBe(12);
    expect(placeholdersIn(grown.restores)).toBe(600);
    const plain = loggingRunner(NS[1]);
    await syncIn(plain.runner, policies(443));
    expect(placeholdersIn(plain.restores)).toBe(0);
    const kernel = await ownedRulesAndSets(NS[0]);
    expect(kernel).not.toContain(GROW_SET_PREFIX);
    expect(kernel).toBe(await ownedRulesAndSets(NS[1]));
  });

  it('counts the owned sets the kernel holds, and does not grow it for plans within its initial room', async () => {
    // A change into a kernel holding the 12 sets: 300 expected, 12 there, 288 placeholders.
    const again = loggingRunner(NS[0]);
    await syncIn(again.runner, policies(8443), 300);
    expect(placeholdersIn(again.restores)).toBe(288);
    await run(['ip', 'netns', 'del', NS[1]]);
    await run(['ip', 'netns', 'add', NS[1]]);
    const small = loggingRunner(NS[1]);
    await syncIn(small.runner, policies(8443), 256);
    expect(placeholdersIn(small.restores)).toBe(0);
    expect(await ownedRulesAndSets(NS[0])).toBe(await ownedRulesAndSets(NS[1]));
  });

  it('removes a placeholder that a killed restore left behind', async () => {
    const leftover = `${GROW_SET_PREFIX}7`;
    await run(['ip', 'netns', 'exec', NS[0], 'ipset', 'create', leftover, 'hash:net']);
    await syncIn(netnsRunner(NS[0]), policies(8443));
    expect((await run(['ip', 'netns', 'exec', NS[0], 'ipset', 'list', '-n'])).stdout.split('\n')).not.toContain(
      leftover,
    );
    expect(await ownedRulesAndSets(NS[0])).toBe(await ownedRulesAndSets(NS[1]));
  });

  it('grows past placeholders a killed growth left, and leaves none of them', async () => {
    await run(['ip', 'netns', 'del', NS[1]]);
    await run(['ip', 'netns', 'add', NS[1]]);
    const leftover = `${GROW_SET_PREFIX}5`;
    const created = await run([
      'ip',
      'netns',
      'exec',
      NS[1],
      'ipset',
      'create',
      leftover,
      'hash:net',
      'family',
      'inet',
      'hashsize',
      '64',
      'maxelem',
      '1',
    ]);
    expect(created.stderr).toBe('');
    await growSetTable(netnsRunner(NS[1]), 10);
    const names = (await run(['ip', 'netns', 'exec', NS[1], 'ipset', 'list', '-n'])).stdout;
    expect(names.split('\n').filter((name) => name.startsWith(GROW_SET_PREFIX))).toEqual([]);
  });
});
