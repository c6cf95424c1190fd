// Removes what the agent made in a kernel: every owned chain (flushed, then deleted), the jump from
// FORWARD into them, every owned ipset, and the cell proxy's nat chain and its PREROUTING jump
// (agent/proxy/interception.ts). The chains go in ONE iptables-restore transaction (all or
// nothing), the sets after it (a set cannot go while a rule references it). Rules outside the owned
// chains are never written, save the hook itself, deleted by its saved text.

import { isOwned } from '../core/plan/names.js';
import { diffSets, readSets, restoreSets } from './ipsets.js';
import { readInterception, removalPayload, restoreNat } from './proxy/interception.js';
import type { CommandRunner } from './runner.js';
import { applyTable, readTable, ruleTarget } from './table.js';

export interface UninstallPlan {
  /** The iptables-restore payload, undefined when no owned chain or hook is left. */
  readonly payload: string | undefined;
  /** The nat payload removing the proxy's redirects, undefined when there are none. */
  readonly natPayload: string | undefined;
  /** `ipset restore` lines destroying every owned set. */
  readonly sets: readonly string[];
  readonly chains: number;
  readonly hooks: number;
}

export async function planUninstall(runner: CommandRunner): Promise<UninstallPlan> {
  const save = await runner('iptables-save', ['-t', 'filter']);
  // readTable reports a failed read as an ApplyError.
  const table = await readTable(async () => save);
  // Every FORWARD rule jumping (or going) into an owned chain, as saved. Deleted by its text, not its
  // position: another writer (Docker, kube-proxy) may insert a FORWARD rule between this read and the
  // delete, and a position would then name the operator's rule.
  const hooks = table.forwardRules.filter((line) => isOwned(ruleTarget(line) ?? ''));
  const chains = [...table.chains.keys()].sort();
  // Declaring a chain under --noflush flushes it; then no owned rule references another, and all can go.
  const body = [
    ...chains.map((name) => `:${name} - [0:0]`),
    // One delete per saved line: two identical hooks are two lines, and both go.
    ...hooks.map((line) => line.replace(/^-A /, '-D ')),
    ...chains.map((name) => `-X ${name}`),
  ];
  // Every owned set, the host-name sets of agent/names/ included.
  const sets = diffSets([], await readSets(runner, false, isOwned)).after;
  return {
    payload: body.length === 0 ? undefined : ['*filter', ...body, 'COMMIT', ''].join('\n'),
    natPayload: removalPayload(await readInterception(runner)),
    sets,
    chains: chains.length,
    hooks: hooks.length,
  };
}

/** Removes what `plan` lists: the proxy's redirects, the chains and hook in one transaction, then the sets. */
export async function applyUninstall(runner: CommandRunner, plan: UninstallPlan): Promise<void> {
  // The redirects first: they send containers to the proxy, which the filter chains do not govern.
  if (plan.natPayload !== undefined) await restoreNat(runner, plan.natPayload);
  if (plan.payload !== undefined) await applyTable(runner, plan.payload);
  await restoreSets(runner, plan.sets);
}
