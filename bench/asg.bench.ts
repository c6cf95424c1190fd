// Security-group benchmark (`npm run bench -- asg`, or `npx tsx bench/asg.bench.ts`). Needs root, ip netns,
// iptables and ipset; everything happens in throw-away namespaces. Prints figures, never fails on time.
//
// One cell: 250 containers in 20 spaces of 4 organisations (one in ten staging, the rest running) under
// cloud.gov-like security groups (bench/lib/asg-scenario.ts): three global groups (public egress as five
// ranges for protocol all, DNS, NTP over udp) and 200 space-bound groups of 5-20 rules, one in four with
// a rule whose destination is a 1,000-entry comma list. The agent reads them as a snapshot carries them:
// an empty v1 list with a `security_groups` section, through the recorded sync the CLI runs.
//  (a) full sync by the agent (parse + plan + read kernel + diff + ipset + restore), fresh namespace
//  (e) then, in the same namespace, a sync after one rule of one space-bound group changed    → e/a
//  (b) bare `ipset restore` + `iptables-restore --noflush` of (a)'s payload, fresh namespace  → a/b
// ASG_BENCH_ROUNDS=N (default 5) rounds, each in fresh namespaces; medians are reported.
import { textDigest } from '../agent/applied-record.js';
import { restoreSets } from '../agent/ipsets.js';
import { syncRecorded } from '../agent/recorded-sync.js';
import type { CommandRunner } from '../agent/runner.js';
import { parseContainers, parsePolicies } from '../agent/source/files.js';
import { entryCount } from '../core/plan/model.js';
import { planRules } from '../core/plan/plan.js';
import { labPrerequisiteProblem } from '../local/lab/netns-lab.js';
import { ASG_DEFAULT_SIZE, asgScenario } from './lib/asg-scenario.js';
import { must, withNamespace } from './lib/netns.js';
import { percentile, timeMs } from './lib/stats.js';

const ROUNDS = Number(process.env.ASG_BENCH_ROUNDS ?? 5);

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const ratio = (a: number, b: number): string => `${(a / b).toPrecision(3)}×`;
const median = (samples: readonly number[]): number => percentile(samples, 50);
const spread = (samples: readonly number[]): string =>
  samples.length < 2 ? '' : ` (rounds: ${samples.map((ms) => ms.toFixed(0)).join(', ')} ms)`;

/** What the CLI does with two files: digest the policies text, parse it only if the kernel's record does not hold. */
function syncAgent(runner: CommandRunner, policiesText: string, containersText: string) {
  return syncRecorded(
    {
      policiesDigest: textDigest(policiesText),
      policies: () => parsePolicies(policiesText),
      containers: parseContainers(containersText),
    },
    { runner },
  );
}

async function bench(): Promise<void> {
  const size = ASG_DEFAULT_SIZE;
  const data = asgScenario(size);
  console.log(
    `\n-- ${size.containers} containers (${data.staging} staging) in ${size.spaces} spaces of ${size.orgs} orgs × ${data.groups} security groups (3 global, ${size.spaceGroups} space-bound) --`,
  );
  const planned = await timeMs(async () =>
    planRules(parsePolicies(data.policiesText), parseContainers(data.containersText)),
  );
  const plan = planned.value;
  const section = parsePolicies(data.policiesText).security_groups;
  const planRulesCount = plan.chains.reduce((sum, chain) => sum + chain.rules.length, 0);
  const hashSets = plan.sets.filter((set) => set.type === 'hash:net');
  const portSets = plan.sets.filter((set) => set.type === 'hash:net,port');
  const listSets = plan.sets.filter((set) => set.type === 'list:set');
  const members = (sets: typeof plan.sets) => sets.reduce((sum, set) => sum + entryCount(set), 0);
  console.log(
    `groups: ${data.groupRules} rules, ${data.destinationEntries} destination entries; snapshot section: ${section?.rules.length ?? 0} distinct rules, ${section?.bindings.length ?? 0} bindings; policies file ${(data.policiesText.length / 1024).toFixed(0)} KiB`,
  );
  console.log(
    `plan: ${plan.chains.length} chains, ${planRulesCount} rules, ${plan.sets.length} ipsets (${hashSets.length} hash:net with ${members(hashSets)} members, ${portSets.length} hash:net,port with ${members(portSets)}, ${listSets.length} list:set with ${members(listSets)} references; ${members(plan.sets)} members in all)`,
  );

  const pid = process.pid;
  const full: number[] = [];
  const changed: number[] = [];
  const bare: number[] = [];
  const bareSets: number[] = [];
  const bareRestore: number[] = [];
  let changeStats = '';
  let kernelStats = '';
  for (let round = 0; round < ROUNDS; round += 1) {
    // (a) then (e), in one namespace.
    const agent = await withNamespace(`dl-asg-${pid}-a`, async (_ns, runner) => {
      const first = await timeMs(() => syncAgent(runner, data.policiesText, data.containersText));
      const second = await timeMs(() => syncAgent(runner, data.changedText, data.containersText));
      return { first, second };
    });
    const payload = agent.first.value.payload ?? '';
    const setLines = agent.first.value.setsBefore;
    // (b) the floor: the same payload through bare restores, run as the agent runs them (its batches,
    // independent ones at once: restoreSets), so that a/b is the agent's own cost and nothing else.
    const floor = await withNamespace(`dl-asg-${pid}-b`, async (ns, runner) => {
      const sets = await timeMs(() => restoreSets(runner, setLines));
      const restore = await timeMs(() =>
        must(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush'], payload),
      );
      return { sets: sets.ms, restore: restore.ms };
    });
    full.push(agent.first.ms);
    changed.push(agent.second.ms);
    bare.push(floor.sets + floor.restore);
    bareSets.push(floor.sets);
    bareRestore.push(floor.restore);
    const s = agent.first.value.stats;
    kernelStats = `${s.chains} chains, ${s.rules} rules, ${s.sets} ipsets; ${setLines.filter((l) => l.startsWith('add ')).length} set members restored, payload ${(payload.length / 1024).toFixed(0)} KiB`;
    const c = agent.second.value.stats;
    changeStats = `rules written: ${c.rulesWritten}, deleted: ${c.rulesDeleted}; sets created: ${c.setsCreated}, destroyed: ${c.setsDestroyed}`;
  }

  const a = median(full);
  const b = median(bare);
  const e = median(changed);
  console.log(`kernel after (a): ${kernelStats}`);
  console.log(
    `(a) agent full sync            ${fmt(a)}${spread(full)} (parse + plan in-process alone: ${fmt(planned.ms)})`,
  );
  console.log(
    `(b) bare ipset + iptables-restore of the same payload   ${fmt(b)} (ipset restore ${fmt(median(bareSets))} + iptables-restore ${fmt(median(bareRestore))})${spread(bare)}`,
  );
  const perRound = full.map((ms, round) => ratio(ms, bare[round] ?? Number.NaN)).join(', ');
  console.log(
    `    a/b = ${ratio(a, b)} (goal ≤ 1.3: ${a / b <= 1.3 ? 'met' : 'not met'}${full.length < 2 ? '' : `; per round: ${perRound}`})`,
  );
  console.log(`(e) one group rule changed     ${fmt(e)}${spread(changed)} (${changeStats})   e/a = ${ratio(e, a)}`);
  console.log(`medians of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, each in fresh namespaces`);
}

const problem = labPrerequisiteProblem();
if (problem !== undefined) {
  console.error(`security-group benchmark needs a namespace lab: ${problem}`);
  process.exitCode = 1;
} else {
  await bench();
}
