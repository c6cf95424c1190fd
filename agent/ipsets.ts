// Owns the agent's ipsets. Sets are content-addressed (the name is a hash of the members), so a change
// of members is a new set: created before the iptables transaction that starts using it, destroyed
// after the transaction that stops using it. A set whose members drifted is repaired atomically
// (create scratch, fill, swap, destroy scratch). list:sets (names starting LIST_SET_PREFIX) name other
// owned sets: they are created after their members and destroyed before them (a set a list:set holds
// cannot be destroyed).

import { entryCount, type IpSet } from '../core/plan/model.js';
import { isListSet, isPlanSet, tempSetName } from '../core/plan/names.js';
import { ApplyError, firstLine } from './errors.js';
import { NOMATCH, renderSetCreate, setEntryArgs } from './render.js';
import type { CommandRunner } from './runner.js';

/** Owned sets in the kernel, their entries sorted, as setEntryArgs writes them (`<block> nomatch` for a hole). */
export type KernelSets = ReadonlyMap<string, readonly string[]>;
/** Owned sets in the kernel with only their member counts (`ipset list -t`, a cheap read). */
export type KernelSetSizes = ReadonlyMap<string, number>;

/**
 * Parse `ipset save` output, keeping the sets `keep` accepts: by default the sets the sync owns (the
 * host-name sets of agent/names/ are not its business).
 */
export function parseIpsetSave(text: string, keep: (name: string) => boolean = isPlanSet): KernelSets {
  const sets = new Map<string, string[]>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [verb, name = '', member, ...flags] = line.trim().split(/\s+/);
    if (!keep(name)) continue;
    if (verb === 'create') {
      sets.set(name, []);
      types.set(name, member ?? '');
    } else if (verb === 'add' && member !== undefined) {
      const entry = entryAsPlanned(member, types.get(name));
      sets.get(name)?.push(flags.includes(NOMATCH) ? `${entry} ${NOMATCH}` : entry);
    }
  }
  for (const members of sets.values()) members.sort();
  return sets;
}

/**
 * An entry as the plan writes it: ipset prints a /32 block without its prefix (`198.51.100.5`,
 * `198.51.100.5,tcp:443`); the plan always writes one. A list:set holds names.
 */
function entryAsPlanned(member: string, type: string | undefined): string {
  if (type === 'list:set') return member;
  const comma = member.indexOf(',');
  const block = comma === -1 ? member : member.slice(0, comma);
  if (block.includes('/')) return member;
  return comma === -1 ? `${member}/32` : `${block}/32${member.slice(comma)}`;
}

export async function readSets(
  runner: CommandRunner,
  needed: boolean,
  keep: (name: string) => boolean = isPlanSet,
): Promise<KernelSets> {
  return startReadSets(runner, keep)(needed);
}

/**
 * Starts `ipset save` now; the function it returns reads the result once the caller knows whether
 * it needs sets at all (a missing ipset is only a problem then), so the read overlaps the planning.
 */
export function startReadSets(
  runner: CommandRunner,
  keep: (name: string) => boolean = isPlanSet,
): (needed: boolean) => Promise<KernelSets> {
  const saved = runner('ipset', ['save']);
  saved.catch(() => undefined);
  return async (needed) => setsOf(await saved, needed, keep);
}

function setsOf(
  result: Awaited<ReturnType<CommandRunner>>,
  needed: boolean,
  keep: (name: string) => boolean,
): KernelSets {
  if (result.code === 0) return parseIpsetSave(result.stdout, keep);
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

/** Whether a kernel set holds `wanted`; from sizes alone, a count that differs is all a drift can show. */
function holds(current: readonly string[] | number, wanted: IpSet): boolean {
  if (typeof current === 'number') return current === entryCount(wanted);
  const sorted = setEntryArgs(wanted).sort();
  return current.length === sorted.length && current.every((member, index) => member === sorted[index]);
}

export function diffSets(desired: readonly IpSet[], kernel: KernelSets | KernelSetSizes): SetDiff {
  // Lines about list:sets go after every other (they name the sets created before them).
  const memberLines: string[] = [];
  const listLines: string[] = [];
  const created: string[] = [];
  const wanted = new Set(desired.map((set) => set.name));
  // Leftover scratch sets destroyed by a repair below must not be destroyed a second time after.
  const destroyedBefore = new Set<string>();
  for (const set of desired) {
    const lines = isListSet(set.name) ? listLines : memberLines;
    const current = kernel.get(set.name);
    if (current === undefined) {
      append(lines, renderSetCreate(set));
      created.push(set.name);
      continue;
    }
    if (holds(current, set)) continue;
    const temp = tempSetName(set.name);
    if (kernel.has(temp)) lines.push(`destroy ${temp}`);
    append(lines, renderSetCreate(set, temp));
    lines.push(`swap ${temp} ${set.name}`, `destroy ${temp}`);
    destroyedBefore.add(temp);
  }
  const after = [...kernel.keys()]
    .filter((name) => !wanted.has(name) && !destroyedBefore.has(name))
    .sort(listsFirst)
    .map((name) => `destroy ${name}`);
  append(memberLines, listLines);
  return { before: memberLines, after, created: [...created].sort(listsFirst) };
}

/** `lines.push(...more)` without spreading: a set of 200,000 members would overflow the call stack. */
function append(lines: string[], more: readonly string[]): void {
  for (const line of more) lines.push(line);
}

/** Name order for destroying: list:sets before the sets they hold, else by name. */
export function listsFirst(a: string, b: string): number {
  const kind = Number(isListSet(b)) - Number(isListSet(a));
  return kind !== 0 ? kind : a < b ? -1 : a > b ? 1 : 0;
}

/** The set a restore line is about (the first name after the verb). */
function subjectOf(line: string): string {
  const start = line.indexOf(' ') + 1;
  if (start === 0) return '';
  const end = line.indexOf(' ', start);
  return end === -1 ? line.slice(start) : line.slice(start, end);
}

/** The names a restore line is about: create/add/destroy name one set, swap two. */
function namesOfLine(line: string): string[] {
  const first = subjectOf(line);
  return line.startsWith('swap ') ? [first, line.slice(line.indexOf(' ', 5) + 1)] : [first];
}

/**
 * `lines` cut where the kind of set they are about changes (list:set or not). A stage may run its
 * batches at once; stages run in order, so members exist before the lists that name them and lists
 * go before their members.
 */
export function restoreStages(lines: readonly string[]): string[][] {
  const stages: string[][] = [];
  let previous: boolean | undefined;
  for (const line of lines) {
    const list = isListSet(subjectOf(line));
    if (list !== previous) stages.push([]);
    stages[stages.length - 1]?.push(line);
    previous = list;
  }
  return stages;
}

/**
 * Sets one `ipset restore` may name. The ipset tool looks every line's set up in a list of the sets
 * its session has touched, so one session over 10,000 sets spends its time searching that list
 * (measured: 390,000 members in 10,000 sets, 19 s in one session, 2.3 s in sessions of 250 sets).
 */
export const SETS_PER_RESTORE = 250;

/** `lines` cut, in order, into runs that each name at most `limit` distinct sets. */
export function restoreBatches(lines: readonly string[], limit = SETS_PER_RESTORE): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let named = new Set<string>();
  let previous = '';
  for (const line of lines) {
    // Most lines add a member to the set the line before named: nothing new to count.
    const subject = subjectOf(line);
    if (subject === previous && !line.startsWith('swap ')) {
      batch.push(line);
      continue;
    }
    previous = subject;
    const names = namesOfLine(line).filter((name) => !named.has(name));
    if (named.size + names.length > limit && batch.length > 0) {
      batches.push(batch);
      batch = [];
      named = new Set();
    }
    for (const name of names) named.add(name);
    batch.push(line);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** `ipset restore` sessions run at once when their batches name disjoint sets (measured: 2.7 s → 1.4 s on 2 cores). */
export const PARALLEL_RESTORES = 4;

/** The set names of a batch, each once (the words after the verb; members of `add` lines excluded). */
function namesOf(batch: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const line of batch) for (const name of namesOfLine(line)) names.add(name);
  return names;
}

/** True when no set is named in two batches: then their order does not matter. */
function independent(batches: readonly (readonly string[])[]): boolean {
  const owner = new Map<string, number>();
  for (const [index, batch] of batches.entries()) {
    for (const name of namesOf(batch)) {
      if ((owner.get(name) ?? index) !== index) return false;
      owner.set(name, index);
    }
  }
  return true;
}

/**
 * Runs `lines` through `ipset restore` in batches (restoreBatches): several at once when they name
 * disjoint sets, else one after another in order. Not a transaction, one batch or many: callers
 * remove the sets a failed run created (removeCreatedSets).
 */
export async function restoreSets(
  runner: CommandRunner,
  lines: readonly string[],
  parallel = PARALLEL_RESTORES,
): Promise<void> {
  for (const stage of restoreStages(lines)) await restoreStage(runner, stage, parallel);
}

async function restoreStage(runner: CommandRunner, lines: readonly string[], parallel: number): Promise<void> {
  const batches = restoreBatches(lines);
  const width = independent(batches) ? Math.max(1, parallel) : 1;
  let next = 0;
  const failures: ApplyError[] = [];
  const worker = async (): Promise<void> => {
    while (next < batches.length && failures.length === 0) {
      const batch = batches[next] ?? [];
      next += 1;
      const failure = await runRestore(runner, `${batch.join('\n')}\n`);
      if (failure !== undefined) failures.push(failure);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, batches.length) }, worker));
  if (failures[0] !== undefined) throw failures[0];
}

/** One `ipset restore` session: undefined when it succeeded, else the error that says why not. */
export async function runRestore(runner: CommandRunner, input: string): Promise<ApplyError | undefined> {
  const result = await runner('ipset', ['restore'], input);
  if (result.code === 0) return undefined;
  return new ApplyError(
    `ipset restore failed (exit ${result.code}): ${firstLine(result.stderr)}`,
    'ipset',
    result.stderr,
  );
}

/**
 * Undo the set creations of a `before` batch that failed part-way (`ipset restore` is not a
 * transaction): destroy whichever of `created` exist now. Best effort; the next sync finds any rest.
 */
export async function removeCreatedSets(runner: CommandRunner, created: readonly string[]): Promise<void> {
  if (created.length === 0) return;
  const present = await readSets(runner, true);
  const lines = [...created]
    .sort(listsFirst)
    .filter((name) => present.has(name))
    .map((name) => `destroy ${name}`);
  await restoreSets(runner, lines);
}
