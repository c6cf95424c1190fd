// Growing the kernel's table of sets before a sync (set-table.ts), against a real kernel: a cell
// whose last apply held many sets grows it while it parses when the kernel holds few (a reboot), by
// what the kernel lacks, and leaves the kernel as a sync without it does; not for plans within the
// table's initial room; and a placeholder a killed restore left behind is removed by the next sync.
// A first sync (no count) of a large cell grows it while it parses, until its own sets are due: the
// growth stops when told (as the sync's first sets go in), keeps to its bound, leaves no placeholder.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textDigest } from '../../agent/applied-record.js';
import { syncRecorded } from '../../agent/recorded-sync.js';
import { type CommandRunner, netnsRunner } from '../../agent/runner.js';
import { GROW_SET_PREFIX, growSetTable, OPEN_GROWTH_MIN_LENGTH, startOpenGrowth } from '../../agent/set-table.js';
import { parseContainers, parsePolicies } from '../../agent/source/files.js';
import { labAvailable, run } from '../../local/lab/netns-lab.js';
import { app, containerStore, oneAppEach, policyList, tcp } from './fixtures.js';
import { ownedRulesAndSets } from './kernel-state.js';

const NS = [`set-table-a-${process.pid}`, `set-table-b-${process.pid}`, `set-table-c-${process.pid}`] as const;
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
const containers = parseContainers(JSON.stringify(containerStore(oneAppEach(12))));

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

const placeholdersInKernel = async (ns: string): Promise<number> =>
  (await run(['ip', 'netns', 'exec', ns, 'ipset', 'list', '-n'])).stdout
    .split('\n')
    .filter((name) => name.startsWith(GROW_SET_PREFIX)).length;

/** Waits (at most 5 s) until the kernel holds `count` placeholders; how many it holds then. */
async function placeholdersReach(ns: string, count: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  let held = await placeholdersInKernel(ns);
  while (held < count) {
    if (Date.now() > deadline) throw new Error(`only ${held} placeholders after 5 s`);
    held = await placeholdersInKernel(ns);
  }
  return held;
}

/** The placeholders left once a stopping growth has had about a second to clean up (a loop running on makes thousands). */
async function placeholdersLeftSoon(ns: string): Promise<number> {
  let left = await placeholdersInKernel(ns);
  for (let polls = 0; polls < 40 && left > 0; polls += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = await placeholdersInKernel(ns);
  }
  return left;
}

async function freshNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'del', ns]);
  const added = await run(['ip', 'netns', 'add', ns]);
  if (added.code !== 0) throw new Error(added.stderr);
}

interface TimedCommand {
  readonly command: string;
  readonly input: string;
  readonly started: number;
  ended: number;
  /** Whether a growth's stop file (set-table.ts) existed as the command started. */
  readonly growthStopped: boolean;
}

/** Runs in the namespace and keeps when each command started and ended, with its input. */
function timingRunner(ns: string): { runner: CommandRunner; commands: TimedCommand[] } {
  const commands: TimedCommand[] = [];
  const inNs = netnsRunner(ns);
  let stopFile: string | undefined;
  return {
    commands,
    runner: async (command, args, input) => {
      // A growth runs as `sh -c SCRIPT sh FOLDER PREFIX STEPS`; FOLDER/stop stops it.
      if (command === 'sh' && args[3] !== undefined) stopFile = join(args[3], 'stop');
      const growthStopped = stopFile !== undefined && existsSync(stopFile);
      const entry = {
        command: [command, ...args].join(' '),
        input: input ?? '',
        started: performance.now(),
        ended: 0,
        growthStopped,
      };
      commands.push(entry);
      try {
        return await inNs(command, args, input);
      } finally {
        entry.ended = performance.now();
      }
    },
  };
}

// Forty apps with ten destinations each on one service: a set each, and enough sources to grow.
const manyPolicies = JSON.stringify(
  policyList(
    Array.from({ length: 400 }, (_, index) => {
      const ip = `198.51.${100 + Math.floor(index / 100)}.${(index % 100) + 1}`;
      return tcp(`p${index}`, app(`app-${Math.floor(index / 10)}`), [ip, ip], [443, 443]);
    }),
  ),
);
const manyContainers = parseContainers(JSON.stringify(containerStore(oneAppEach(40))));
const firstSync = (runner: CommandRunner, policiesLength: number, policies = () => parsePolicies(manyPolicies)) =>
  syncRecorded(
    { policiesDigest: textDigest(manyPolicies), policies, containers: manyContainers, policiesLength },
    { runner },
  );

describe.runIf(labAvailable())('growing the table of sets without a count, on a real kernel', () => {
  beforeAll(async () => {
    for (const ns of NS) await freshNamespace(ns);
  });
  afterAll(async () => {
    for (const ns of NS) await run(['ip', 'netns', 'del', ns]);
  });

  it('grows past the initial room until told to stop, then stops at once and leaves no placeholder', async () => {
    const ns = NS[2];
    const growth = startOpenGrowth(netnsRunner(ns));
    // Past 256 placeholders the kernel has grown its table.
    const before = await placeholdersReach(ns, 320).finally(() => growth.stop());
    let most = before;
    let done = false;
    const finished = growth.finish().then(() => {
      done = true;
    });
    while (!done) most = Math.max(most, await placeholdersInKernel(ns));
    await finished;
    // One step in flight may end after the stop (64), and the reads lag a little; running on to its
    // bound would make thousands.
    expect(most).toBeLessThan(before + 3 * 64);
    expect(await placeholdersInKernel(ns)).toBe(0);
  });

  it('stops, and removes what it made, when its folder is gone (a runner that answered before it ended)', async () => {
    const ns = NS[2];
    await freshNamespace(ns);
    let folder = '';
    const inNs = netnsRunner(ns);
    const growth = startOpenGrowth((command, args, input) => {
      folder = args[3] ?? '';
      return inNs(command, args, input);
    });
    try {
      await placeholdersReach(ns, 320);
      rmSync(folder, { recursive: true, force: true });
      expect(await placeholdersLeftSoon(ns)).toBe(0);
    } finally {
      await growth.finish();
    }
  });

  it('stops, and removes what it made and its folder, when the process that started it is gone', async () => {
    const ns = NS[2];
    await freshNamespace(ns);
    // The loop's parent: a shell that starts it in the background and exits a second later, as an
    // agent killed without its children would. (Its answer comes only when the loop has ended: the
    // loop holds its output pipes.)
    const started = Date.now();
    let folder = '';
    const growth = startOpenGrowth((command, args) => {
      folder = args[3] ?? '';
      return run(['ip', 'netns', 'exec', ns, 'sh', '-c', '"$@" & sleep 1', 'sh', command, ...args]);
    });
    try {
      await placeholdersReach(ns, 64);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 1_200 - Date.now())));
      expect(await placeholdersLeftSoon(ns)).toBe(0);
      // Nobody called finish: the loop removes its folder itself, after its last destroys.
      expect(folder).not.toBe('');
      const removedBy = Date.now() + 2000;
      while (existsSync(folder) && Date.now() < removedBy) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(existsSync(folder)).toBe(false);
    } finally {
      await growth.finish();
    }
  });

  it('keeps to its bound without a stop, and removes what it made', async () => {
    const ns = NS[2];
    await freshNamespace(ns);
    const timed = timingRunner(ns);
    const growth = startOpenGrowth(timed.runner, 2);
    // The growth ends by itself, with never more than its two steps' placeholders, and none left.
    let most = 0;
    while (timed.commands[0]?.ended === 0 && most <= 2 * 64) most = Math.max(most, await placeholdersInKernel(ns));
    expect(most).toBeLessThanOrEqual(2 * 64);
    await growth.finish();
  });

  it('runs in a first sync of a large cell, stops as its first sets are created, and applies what a sync without it applies', async () => {
    await freshNamespace(NS[0]);
    await freshNamespace(NS[1]);
    const grown = timingRunner(NS[0]);
    const result = await firstSync(grown.runner, OPEN_GROWTH_MIN_LENGTH);
    expect(result.stats.sets).toBe(40);
    const growthRun = grown.commands.find((entry) => entry.command.startsWith('sh -c'));
    if (growthRun === undefined) throw new Error('no growth ran');
    // Told to stop as the first sets went to the kernel, and over before the rules' transaction.
    const firstSets = grown.commands.find((entry) => entry.input.includes('create dyneg-') && entry !== growthRun);
    if (firstSets === undefined) throw new Error('no set was created');
    expect(firstSets.growthStopped).toBe(true);
    const transaction = grown.commands.find((entry) => entry.command.includes('iptables-restore'));
    if (transaction === undefined) throw new Error('no transaction');
    expect(growthRun.ended).toBeLessThanOrEqual(transaction.started);
    // A small document: no growth, the same kernel.
    const plain = timingRunner(NS[1]);
    await firstSync(plain.runner, OPEN_GROWTH_MIN_LENGTH - 1);
    expect(plain.commands.some((entry) => entry.command.startsWith('sh -c'))).toBe(false);
    expect(await placeholdersInKernel(NS[0])).toBe(0);
    expect(await ownedRulesAndSets(NS[0])).toBe(await ownedRulesAndSets(NS[1]));
  });

  it("does not grow for a cell of few sources, nor for a kernel holding the agent's sets", async () => {
    await freshNamespace(NS[1]);
    const few = timingRunner(NS[1]);
    await syncRecorded(
      {
        policiesDigest: textDigest(policies(443)),
        policies: () => parsePolicies(policies(443)),
        containers,
        policiesLength: OPEN_GROWTH_MIN_LENGTH,
      },
      { runner: few.runner },
    );
    expect(few.commands.some((entry) => entry.command.startsWith('sh -c'))).toBe(false);
    // NS[0] holds the sets of the sync above: a changed document is no first sync.
    const changed = timingRunner(NS[0]);
    const text = manyPolicies.replaceAll('"start":443', '"start":8443').replaceAll('"end":443', '"end":8443');
    await syncRecorded(
      {
        policiesDigest: textDigest(text),
        policies: () => parsePolicies(text),
        containers: manyContainers,
        policiesLength: OPEN_GROWTH_MIN_LENGTH,
      },
      { runner: changed.runner },
    );
    expect(changed.commands.some((entry) => entry.command.startsWith('sh -c'))).toBe(false);
  });

  it('stops the growth when the policies are refused, leaving the kernel as it was', async () => {
    await freshNamespace(NS[0]);
    const refused = timingRunner(NS[0]);
    const sync = firstSync(refused.runner, OPEN_GROWTH_MIN_LENGTH, () => {
      throw new Error('refused');
    });
    await expect(sync).rejects.toThrow('refused');
    const growthRun = refused.commands.find((entry) => entry.command.startsWith('sh -c'));
    expect(growthRun?.ended).toBeGreaterThan(0);
    expect(await placeholdersInKernel(NS[0])).toBe(0);
    expect(await ownedRulesAndSets(NS[0])).toBe('');
  });
});
