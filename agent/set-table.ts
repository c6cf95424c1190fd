// Growing the kernel's table of sets ahead of a sync that will create many sets in a kernel holding
// few (after a reboot, or after the agent's sets were removed). The kernel keeps the sets of a
// namespace in an array that starts with room for 256 and grows 64 slots at a time, waiting for an
// RCU grace period at each step; creating 845 sets in a fresh namespace spends about 110 of its 250 ms
// there (measured: the same `ipset restore` took 144 ms once the array had grown). Growing it while
// the agent parses and plans, when the kernel is idle, takes that wait off the sync's path. The array
// keeps its size when the sets that grew it are destroyed, so placeholders do it: created, destroyed
// again, in one restore. Best effort: a sync never fails for it.
import { OWNED_PREFIX } from '../core/plan/names.js';
import type { CommandRunner } from './runner.js';

/** Placeholders are owned sets (core/plan/names.ts), so a sync destroys any that a killed restore left. */
export const GROW_SET_PREFIX = `${OWNED_PREFIX}t-grow-`;
/** Room the kernel's array of sets starts with: fewer sets never make it grow. */
const INITIAL_SLOTS = 256;

/**
 * How many placeholders to create before a sync: the sets the cell's last apply held (`expected`)
 * less the owned sets the kernel holds now, when it holds fewer than half of them; else none (the
 * kernel has grown already, or this cell's plans stay within the initial room).
 */
export function placeholdersNeeded(expected: number | undefined, present: number): number {
  if (expected === undefined || expected <= INITIAL_SLOTS || present >= expected / 2) return 0;
  return expected - present;
}

/** Creates and destroys `count` placeholder sets in one `ipset restore`; resolves whatever happens. */
export async function growSetTable(runner: CommandRunner, count: number): Promise<void> {
  if (count <= 0) return;
  const names = Array.from({ length: count }, (_, index) => `${GROW_SET_PREFIX}${index}`);
  const lines = [
    ...names.map((name) => `create ${name} hash:net family inet hashsize 64 maxelem 1`),
    ...names.map((name) => `destroy ${name}`),
  ];
  // -exist: a placeholder of the same name left by a killed growth is taken as created (a plain
  // restore stops there, leaving the ones it created), and destroyed with the rest.
  await runner('ipset', ['restore', '-exist'], `${lines.join('\n')}\n`).catch(() => undefined);
}
