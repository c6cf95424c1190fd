// Removes what the agent made in a kernel: every owned chain (flushed, then deleted), the jump from
// FORWARD into them, every owned ipset. The chains go in ONE iptables-restore transaction (all or
// nothing), the sets after it (a set cannot go while a rule references it). Rules outside the owned
// chains are never written, save the hook itself, deleted by its position in the table just read.
import { diffSets, readSets, restoreSets } from './ipsets.js';
import { HOOK_CHAIN, isOwned } from './names.js';
import type { CommandRunner } from './runner.js';
import { applyTable, readTable } from './table.js';

export interface UninstallPlan {
  /** The iptables-restore payload, undefined when no owned chain or hook is left. */
  readonly payload: string | undefined;
  /** `ipset restore` lines destroying every owned set. */
  readonly sets: readonly string[];
  readonly chains: number;
  readonly hooks: number;
}

/** 1-based positions in FORWARD of the rules jumping (or going) into an owned chain. */
export function hookPositions(save: string): number[] {
  const positions: number[] = [];
  let inFilter = false;
  let position = 0;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) inFilter = line === '*filter';
    if (!inFilter || !line.startsWith(`-A ${HOOK_CHAIN} `)) continue;
    position += 1;
    const words = line.split(' ');
    const target = words.findIndex((word) => word === '-j' || word === '-g');
    if (target >= 0 && isOwned(words[target + 1] ?? '')) positions.push(position);
  }
  return positions;
}

export async function planUninstall(runner: CommandRunner): Promise<UninstallPlan> {
  const save = await runner('iptables-save', ['-t', 'filter']);
  // readTable reports a failed read as an ApplyError; the text parsed below is the same read's.
  const table = await readTable(async () => save);
  const hooks = hookPositions(save.stdout);
  const chains = [...table.chains.keys()].sort();
  // Declaring a chain under --noflush flushes it; then no owned rule references another, and all can go.
  const body = [
    ...chains.map((name) => `:${name} - [0:0]`),
    ...hooks.reverse().map((position) => `-D ${HOOK_CHAIN} ${position}`),
    ...chains.map((name) => `-X ${name}`),
  ];
  const sets = diffSets([], await readSets(runner, false)).after;
  return {
    payload: body.length === 0 ? undefined : ['*filter', ...body, 'COMMIT', ''].join('\n'),
    sets,
    chains: chains.length,
    hooks: hooks.length,
  };
}

/** Removes what `plan` lists: the chains and hook in one transaction, then the sets. */
export async function applyUninstall(runner: CommandRunner, plan: UninstallPlan): Promise<void> {
  if (plan.payload !== undefined) await applyTable(runner, plan.payload);
  await restoreSets(runner, plan.sets);
}
