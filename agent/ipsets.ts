// Owns the agent's ipsets. Sets are content-addressed (the name is a hash of the members), so a change
// of members is a new set: created before the iptables transaction that starts using it, destroyed
// after the transaction that stops using it. A set whose members drifted is repaired atomically
// (create scratch, fill, swap, destroy scratch).
import { ApplyError, firstLine } from './errors.js';
import type { IpSet } from './model.js';
import { isOwned, tempSetName } from './names.js';
import { renderSetCreate } from './render.js';
import type { CommandRunner } from './runner.js';

/** Owned sets in the kernel, with their members sorted. */
export type KernelSets = ReadonlyMap<string, readonly string[]>;

/** Parse `ipset save` output, keeping owned sets only. */
export function parseIpsetSave(text: string): KernelSets {
  const sets = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [verb, name = '', member] = line.trim().split(/\s+/);
    if (!isOwned(name)) continue;
    if (verb === 'create') sets.set(name, []);
    // ipset prints /32 members without a prefix; the plan always writes one.
    else if (verb === 'add' && member !== undefined)
      sets.get(name)?.push(member.includes('/') ? member : `${member}/32`);
  }
  for (const members of sets.values()) members.sort();
  return sets;
}

export async function readSets(runner: CommandRunner, needed: boolean): Promise<KernelSets> {
  const result = await runner('ipset', ['save']);
  if (result.code === 0) return parseIpsetSave(result.stdout);
  // Without ipset there can be no owned sets; that is only a problem if the plan needs one.
  if (!needed && result.code === 127) return new Map();
  throw new ApplyError(
    `cannot read ipsets: ipset save exited with ${result.code}: ${firstLine(result.stderr)}`,
    'ipset',
    result.stderr,
  );
}

export interface SetDiff {
  /** `ipset restore` lines to run before the iptables transaction (create new, repair drifted). */
  readonly before: readonly string[];
  /** `ipset restore` lines to run after it (destroy sets no longer referenced). */
  readonly after: readonly string[];
  /** Sets created by `before`, to destroy if the iptables transaction fails. */
  readonly created: readonly string[];
}

export function diffSets(desired: readonly IpSet[], kernel: KernelSets): SetDiff {
  const before: string[] = [];
  const created: string[] = [];
  const wanted = new Set(desired.map((set) => set.name));
  // Leftover scratch sets destroyed by a repair below must not be destroyed a second time after.
  const destroyedBefore = new Set<string>();
  for (const set of desired) {
    const current = kernel.get(set.name);
    if (current === undefined) {
      before.push(...renderSetCreate(set));
      created.push(set.name);
      continue;
    }
    const sortedWanted = [...set.members].sort();
    if (current.length === sortedWanted.length && current.every((member, index) => member === sortedWanted[index])) {
      continue;
    }
    const temp = tempSetName(set.name);
    if (kernel.has(temp)) before.push(`destroy ${temp}`);
    before.push(...renderSetCreate(set, temp), `swap ${temp} ${set.name}`, `destroy ${temp}`);
    destroyedBefore.add(temp);
  }
  const after = [...kernel.keys()]
    .filter((name) => !wanted.has(name) && !destroyedBefore.has(name))
    .sort()
    .map((name) => `destroy ${name}`);
  return { before, after, created };
}

export async function restoreSets(runner: CommandRunner, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const result = await runner('ipset', ['restore'], `${lines.join('\n')}\n`);
  if (result.code !== 0) {
    throw new ApplyError(
      `ipset restore failed (exit ${result.code}): ${firstLine(result.stderr)}`,
      'ipset',
      result.stderr,
    );
  }
}

/**
 * Undo the set creations of a `before` batch that failed part-way (`ipset restore` is not a
 * transaction): destroy whichever of `created` exist now. Best effort; the next sync finds any rest.
 */
export async function removeCreatedSets(runner: CommandRunner, created: readonly string[]): Promise<void> {
  if (created.length === 0) return;
  const present = await readSets(runner, true);
  const lines = created.filter((name) => present.has(name)).map((name) => `destroy ${name}`);
  await restoreSets(runner, lines);
}
