// The agent as a library: desired state in, kernel programmed (or the payload shown). Sources that
// are not files (DynamoDB, a versioned document) call `sync` directly.
import type { PoliciesWithGroups } from '../core/domain/snapshot-groups.js';
import { DEFAULT_DENY_LOG, type DenyLogSetting } from '../core/plan/deny-log.js';
import { type Chain, type Container, entryCount, type HostSet, type RulePlan } from '../core/plan/model.js';
import { BY_HOST_SETS } from '../core/plan/name-enforcement.js';
import { hostTempSetName, isHostSet, ROOT_CHAIN } from '../core/plan/names.js';
import {
  DEFAULT_OVERLAY_CIDR,
  DEFAULT_SET_THRESHOLD,
  DEFAULT_UNKNOWN_SOURCES,
  type DenyNetworks,
  NO_DENY_NETWORKS,
  type PlanHooks,
  type PlanOptions,
  planRules,
  type UnknownSources,
} from '../core/plan/plan.js';
import { formatRecord, readSetHeaders, rootDigest, setsDigest } from './applied-record.js';
import type { DryRunPreview } from './dry-run-diff.js';
import { EarlySets } from './early-sets.js';
import { firstLine } from './errors.js';
import {
  diffSets,
  type KernelSetSizes,
  type KernelSets,
  removeCreatedSets,
  restoreSets,
  runRestore,
  startReadSets,
} from './ipsets.js';
import { HOST_SET_TYPE, hostSetNamesIn, readHostSetNames } from './names/name-sets.js';
import { writeNamesFile } from './names/names-file.js';
import { type RenderedRule, renderChain } from './render.js';
import { type CommandRunner, spawnRunner } from './runner.js';
import type { TableGrowth } from './set-table.js';
import type { SyncMemory } from './sync-memory.js';
import { applyTable, type ChainChange, diffTable, type KernelTable, readTable } from './table.js';

/**
 * How much of the kernel a sync reads back. `full`: every rule id and every set member (drift of any
 * kind is repaired). `sizes`: every rule id, but only the owned sets' member counts, which is what
 * a set drift short of a same-size swap shows; much cheaper with large sets.
 */
export type ReadBack = 'full' | 'sizes';

export interface SyncOptions {
  /** @default DEFAULT_OVERLAY_CIDR (plan.ts) */
  readonly overlayCidr?: string;
  /** Compute and return the payload, change nothing. @default false */
  readonly dryRun?: boolean;
  /** @default spawnRunner (the real binaries) */
  readonly runner?: CommandRunner;
  /** Destinations per service from which an ipset is used. @default 8 */
  readonly setThreshold?: number;
  /** New connections from overlay sources the containers file does not list. @default 'reject' (plan.ts) */
  readonly unknownSources?: UnknownSources;
  /** Log refused connections to NFLOG, rate-limited per container. @default DEFAULT_DENY_LOG (deny-log.ts) */
  readonly denyLog?: DenyLogSetting;
  /** Networks no container may open connections to (plan.ts). @default NO_DENY_NETWORKS */
  readonly denyNetworks?: DenyNetworks;
  /** Digest of the inputs (applied-record.ts); given, the applied plan is recorded in the kernel under it. */
  readonly record?: string;
  /** @default 'full' */
  readonly readBack?: ReadBack;
  /** With readBack 'sizes': the sizes a caller has just read (recorded-sync.ts), not read again. */
  readonly setSizes?: KernelSetSizes;
  /**
   * With setSizes: the host-name sets the same read found (SetHeaders). Given, the sync destroys the
   * unused ones among them instead of listing the sets again after the restore.
   */
  readonly hostSetsPresent?: readonly string[];
  /**
   * What this agent kept from its last syncs, when it stays resident (sync-memory.ts): unchanged
   * sources are not planned or rendered again, and a caller may diff against the chains its last
   * apply left (remembered-table.ts), which it keeps for that here.
   */
  readonly memory?: SyncMemory;
  /**
   * The filter table as the caller has it: a read it started before parsing (readTable), so the two
   * overlap, or a function of the planned chains, which may give the chains a resident agent
   * remembers instead of reading them (remembered-table.ts).
   */
  readonly kernelTable?: Promise<KernelTable> | TableFor;
  /**
   * Where the names document (agent/names/names-file.ts) is written on every apply: the
   * destinations whose host sets the plan matches, for the names refresh to resolve. Omitted, it is
   * not written (the host sets are still created, empty: those names then allow nothing).
   */
  readonly namesFile?: string;
  /**
   * A growth of the kernel's table of sets running while this sync parses and plans (set-table.ts):
   * told to stop as the sync's first sets go to the kernel, and over, its placeholders gone, before
   * the iptables transaction.
   */
  readonly growth?: TableGrowth;
  /**
   * Called once an apply starts writing what the rules use (host sets, set changes, the iptables
   * transaction; not by a dry run, and after the early sets and placeholders, which no rule uses):
   * from then on a failure may leave rules other than those before in force (converge.ts then takes
   * the proxy's redirects away).
   */
  readonly onWrite?: () => void;
}

/** The filter table for a plan's chains, rendered with `render`. */
export type TableFor = (
  desired: readonly Chain[],
  render: (chain: Chain) => readonly RenderedRule[],
) => Promise<KernelTable>;

export interface SyncResult {
  /** The iptables-restore payload applied (or that would be), undefined when nothing changed. */
  readonly payload: string | undefined;
  /** `ipset restore` lines run before and after the iptables transaction. */
  readonly setsBefore: readonly string[];
  readonly setsAfter: readonly string[];
  readonly changed: boolean;
  /** Per owned chain touched: what is done to it (for a readable dry run). */
  readonly chainChanges: readonly ChainChange[];
  /** Whether the FORWARD jump into the agent's chains is (re)inserted. */
  readonly hookInserted: boolean;
  readonly stats: {
    readonly chains: number;
    readonly rules: number;
    readonly sets: number;
    readonly chainsCreated: number;
    readonly chainsDeleted: number;
    readonly rulesWritten: number;
    readonly rulesDeleted: number;
    /** New sets, and sets no longer used; a repaired set counts as neither. */
    readonly setsCreated: number;
    readonly setsDestroyed: number;
  };
  /** Host sets no rule uses any more that could not be destroyed (tried again after the next change). */
  readonly hostSetProblems?: readonly string[];
  /** The sets of hostSetProblems, by name, when listing them worked (destroyHostSets tries them again). */
  readonly hostSetsKept?: readonly string[];
  /** A dry run only: what its readable account compares (dry-run-diff.ts). */
  readonly preview?: DryRunPreview;
}

/**
 * Every option the plan depends on, defaults filled in: what `planRules` gets and what the input
 * digest of a recorded sync covers (recorded-sync.ts), so that a changed setting is a changed input.
 */
export function planOptionsOf(options: SyncOptions): Required<Omit<PlanOptions, 'names'>> {
  return {
    overlayCidr: options.overlayCidr ?? DEFAULT_OVERLAY_CIDR,
    setThreshold: options.setThreshold ?? DEFAULT_SET_THRESHOLD,
    unknownSources: options.unknownSources ?? DEFAULT_UNKNOWN_SOURCES,
    denyLog: options.denyLog ?? DEFAULT_DENY_LOG,
    denyNetworks: options.denyNetworks ?? NO_DENY_NETWORKS,
  };
}

/**
 * Make the kernel enforce `policies` for `containers`. Inputs must already be validated (see
 * source/files.ts). Order: create new sets (host sets: created empty when missing) → one
 * iptables-restore → write the names document → destroy unused sets (host sets too, once the
 * restore stopped using them). If creating the sets or the iptables transaction fails, the plan's
 * sets created for it are removed again and the error is thrown; the rules in force and the names
 * document are untouched.
 *
 * Host names (issue 15 item 2): the plan matches each tcp/udp destination with exact hosts through
 * its host set (name-enforcement.ts: BY_HOST_SETS). The sync only makes sure those sets exist and
 * says which names they are for (namesFile); the names refresh fills them. The document is written
 * once the rules using them are in force: a new host set stays empty until then (the refresh of a
 * sync's document fills listed sets only and destroys none), which refuses, never allows, for that
 * moment. Beside it goes the input it was written for (`record`), which the record check compares.
 */
export async function sync(
  policies: PoliciesWithGroups,
  containers: readonly Container[],
  options: SyncOptions = {},
): Promise<SyncResult> {
  const runner = options.runner ?? spawnRunner;
  // The kernel reads run (in their own processes) while the plan is computed.
  const given = options.kernelTable ?? readTable(runner, { keepRules: options.dryRun === true });
  const { setsRead, hostSetsPresent } = startSetsRead(runner, options);
  // Awaited below; until then a failed read must not count as unhandled (the plan may throw first).
  if (typeof given !== 'function') given.catch(() => undefined);
  const tableFor: TableFor = typeof given === 'function' ? given : () => given;
  // With the kernel's set names known before planning, new sets are created while the rest is planned.
  const known = options.readBack === 'sizes' && options.dryRun !== true ? options.setSizes : undefined;
  const growth = options.growth;
  const early =
    known === undefined ? undefined : new EarlySets(runner, new Set(known.keys()), growth && (() => growth.stop()));
  const hooks: PlanHooks = {
    ...(early === undefined ? {} : { onSet: early.onSet }),
    ...(options.memory === undefined ? {} : { cache: options.memory.plan }),
  };
  const { plan, kernel, table, createdEarly, remembered } = await planAndDiffTable(
    () => planRules(policies, containers, { ...planOptionsOf(options), names: BY_HOST_SETS }, hooks),
    options.record,
    tableFor,
    runner,
    early,
    options.memory?.render,
  );
  await growth?.finish();
  const kernelSets = known === undefined ? await setsRead(plan.sets.length > 0) : new Map([...known, ...createdEarly]);
  const sets = diffSets(plan.sets, kernelSets);
  const setsBefore = early === undefined || early.lines.length === 0 ? sets.before : [...early.lines, ...sets.before];
  const created = early === undefined ? sets.created : [...early.created, ...sets.created];
  const result: SyncResult = {
    payload: table.payload,
    setsBefore,
    setsAfter: sets.after,
    changed: table.payload !== undefined || setsBefore.length > 0 || sets.after.length > 0,
    chainChanges: table.chainChanges,
    hookInserted: table.hookInserted,
    stats: {
      chains: plan.chains.length,
      rules: plan.chains.reduce((sum, chain) => sum + chain.rules.length, 0),
      sets: plan.sets.length,
      chainsCreated: table.chainsCreated,
      chainsDeleted: table.chainsDeleted,
      rulesWritten: table.rulesWritten,
      rulesDeleted: table.rulesDeleted,
      setsCreated: created.length,
      setsDestroyed: sets.after.length,
    },
  };
  if (options.dryRun === true) {
    return { ...result, preview: { policies, plan, kernel, kernelSets: withMembers(kernelSets) } };
  }

  const hostSets = plan.hostSets ?? [];
  // The host sets there now: from the headers read, else listed once here for creating and destroying.
  const present = (await hostSetsPresent) ?? (hostSets.length > 0 ? await readHostSetNames(runner) : undefined);
  // What the last apply left is no longer known until this one has succeeded.
  options.memory?.forgetApplied();
  options.onWrite?.();
  try {
    await createHostSets(runner, hostSets, present);
    await restoreSets(runner, sets.before);
    if (table.payload !== undefined) await applyTable(runner, table.payload);
  } catch (error) {
    // The rules in force never referenced the new sets, so removing them changes no traffic.
    await removeCreatedSets(runner, created).catch(() => undefined);
    throw error;
  }
  // The owned chains are now the plan's: a change sync can take them from memory instead of a read.
  if (options.record !== undefined) options.memory?.rememberApplied(options.record, plan.chains, !remembered);
  // The names the rules now in force are for, and only now: written before, a failed apply would
  // leave the refresh filling a destination's set with names the rules in force do not allow.
  if (options.namesFile !== undefined) writeNamesFile(options.namesFile, namesOf(hostSets), options.record);
  await restoreSets(runner, sets.after);
  // Only a changed ruleset can have stopped using a host set.
  if (table.payload === undefined) return result;
  const { problems, kept } = await destroyUnusedHostSets(runner, hostSets, present);
  return problems.length === 0 ? result : { ...result, hostSetProblems: problems, hostSetsKept: kept };
}

/** The sets as read, when the read gave their entries (a `full` read), not only their sizes. */
function withMembers(sets: KernelSets | KernelSetSizes): KernelSets | undefined {
  const entries = new Map<string, readonly string[]>();
  for (const [name, members] of sets) {
    if (typeof members === 'number') return undefined;
    entries.set(name, members);
  }
  return entries;
}

/** The names document's destinations: each host set's destination and exact names. */
function namesOf(hostSets: readonly HostSet[]): { id: string; hosts: readonly string[] }[] {
  return hostSets.map((set) => ({ id: set.destinationId, hosts: set.hosts }));
}

/**
 * Creates the plan's host sets that are missing, empty, with the very type the names refresh
 * creates them with (so it can swap into them). One that is there is left, members and all: not
 * created again, since a set made before its members had timeouts would refuse even `-exist` (its
 * parameters differ); the refresh's next swap gives it the new ones. `-exist` still leaves one a
 * refresh created meanwhile. `present`: the host sets a read found.
 * Not undone when the sync fails: an unused host set allows nothing, and the next changed sync
 * destroys it.
 */
async function createHostSets(
  runner: CommandRunner,
  hostSets: readonly HostSet[],
  present: readonly string[] | undefined,
): Promise<void> {
  if (hostSets.length === 0) return;
  const there = new Set(present);
  const missing = hostSets.filter((set) => !there.has(set.name));
  if (missing.length === 0) return;
  const lines = missing.map((set) => `create ${set.name} ${HOST_SET_TYPE} -exist`);
  const failure = await runRestore(runner, `${lines.join('\n')}\n`);
  if (failure !== undefined) throw failure;
}

/**
 * Destroys the host sets (and scratch sets) in the kernel that the plan does not match (a matched
 * set's scratch set is left: a refresh may be filling it), now that
 * its rules are in force. One by one: a set the kernel refuses to destroy (a rule still uses it:
 * not ours, or a race with a refresh swapping into it) is reported and does not keep the others.
 * The names refresh following the sync's document never destroys sets itself (agent/names/refresh.ts).
 */
async function destroyUnusedHostSets(
  runner: CommandRunner,
  hostSets: readonly HostSet[],
  listedBefore: readonly string[] | undefined,
): Promise<HostSetsDestroyed> {
  // A wanted set's scratch set too: a refresh pass may be filling it right now (name-sets.ts).
  const wanted = new Set(hostSets.flatMap((set) => [set.name, hostTempSetName(set.name)]));
  const present = listedBefore ?? (await listHostSets(runner));
  if (typeof present === 'string') return { problems: [present], kept: [] };
  return destroyHostSets(
    runner,
    present.filter((set) => !wanted.has(set)),
  );
}

export interface HostSetsDestroyed {
  /** Why each set that is left could not be destroyed. */
  readonly problems: readonly string[];
  readonly kept: readonly string[];
}

/**
 * Destroys host sets one by one: one the kernel refuses (a rule still uses it: not ours, a race with a
 * refresh swapping into it, or the proxy's nat exemption until the proxy step has dropped it) is kept
 * and reported, and does not keep the others.
 */
export async function destroyHostSets(runner: CommandRunner, names: readonly string[]): Promise<HostSetsDestroyed> {
  const problems: string[] = [];
  const kept: string[] = [];
  for (const name of [...names].sort()) {
    if (!isHostSet(name)) continue;
    const failure = await runRestore(runner, `destroy ${name}\n`);
    if (failure === undefined) continue;
    problems.push(`${name} not destroyed: ${failure.message}`);
    kept.push(name);
  }
  return { problems, kept };
}

/**
 * The host-name sets in the kernel now, or the problem reading them. A set listed earlier in the sync
 * serves as well: the sets created since are wanted ones, and a scratch set a names refresh made since
 * for a set no longer wanted is destroyed after the next change.
 */
async function listHostSets(runner: CommandRunner): Promise<readonly string[] | string> {
  const listed = await runner('ipset', ['list', '-n']);
  // Without ipset there are no host sets (and a plan that had some failed to create them).
  if (listed.code === 127) return [];
  if (listed.code !== 0) return `cannot list ipsets: ipset exited with ${listed.code}: ${firstLine(listed.stderr)}`;
  return hostSetNamesIn(listed.stdout);
}

/**
 * The plan (with the record rule), the table's diff, made while the early sets are still being
 * created, and those sets by size. If anything here fails (the plan, the table read, a restore),
 * the early sets are removed once their restores are over and the error is thrown: nothing
 * referred to them, so no traffic changes.
 */
async function planAndDiffTable(
  makePlan: () => RulePlan,
  record: string | undefined,
  tableFor: TableFor,
  runner: CommandRunner,
  early: EarlySets | undefined,
  render: ((chain: Chain) => readonly RenderedRule[]) | undefined,
): Promise<{
  plan: RulePlan;
  kernel: KernelTable;
  table: ReturnType<typeof diffTable>;
  createdEarly: ReadonlyMap<string, number>;
  remembered: boolean;
}> {
  try {
    const planned = makePlan();
    early?.flush();
    const plan = record === undefined ? planned : withRecord(planned, record);
    const kernel = await tableFor(plan.chains, render ?? renderChain);
    const table = diffTable(plan.chains, kernel, render);
    const createdEarly = early === undefined ? new Map<string, number>() : await early.done();
    return { plan, kernel, table, createdEarly, remembered: kernel.remembered !== undefined };
  } catch (error) {
    if (early !== undefined) {
      await early.done().catch(() => undefined);
      await removeCreatedSets(runner, early.created).catch(() => undefined);
    }
    throw error;
  }
}

/**
 * Starts reading the owned sets as `readBack` asks (members, or only their counts); `setsRead` gives
 * the result once the plan says whether sets are needed at all. `hostSetsPresent`: the host-name sets
 * a headers read found, when one was made (undefined: list them after the restore).
 */
function startSetsRead(
  runner: CommandRunner,
  options: SyncOptions,
): {
  setsRead: (needed: boolean) => Promise<KernelSets | KernelSetSizes>;
  hostSetsPresent: Promise<readonly string[] | undefined>;
} {
  if (options.readBack !== 'sizes') {
    return { setsRead: startReadSets(runner), hostSetsPresent: Promise.resolve(undefined) };
  }
  const known = options.setSizes;
  if (known !== undefined) {
    return { setsRead: async () => known, hostSetsPresent: Promise.resolve(options.hostSetsPresent) };
  }
  const headers = readSetHeaders(runner);
  headers.catch(() => undefined);
  return {
    setsRead: async () => (await headers).sizes,
    // A failed read fails the sync through setsRead; here it only means "list again".
    hostSetsPresent: headers.then(
      (read) => read.hostSets,
      () => undefined,
    ),
  };
}

/**
 * The plan with the record rule first in the root chain. The record names the digests of the inputs,
 * of the root chain's other rules and of the sets, so a later sync can check all three cheaply.
 * The rule has no target: it decides nothing.
 */
export function withRecord(plan: RulePlan, input: string): RulePlan {
  const [root, ...rest] = plan.chains;
  if (root === undefined || root.name !== ROOT_CHAIN) throw new Error('plan without a root chain first');
  const record = formatRecord({
    input,
    root: rootDigest(renderChain(root).map((rule) => rule.id)),
    sets: setsDigest(new Map(plan.sets.map((set) => [set.name, entryCount(set)]))),
    size: {
      chains: plan.chains.length,
      rules: plan.chains.reduce((sum, chain) => sum + chain.rules.length, 1),
      sets: plan.sets.length,
    },
  });
  const recordRule = { match: { note: record }, action: { kind: 'none' } } as const;
  return {
    chains: [{ name: root.name, rules: [recordRule, ...root.rules] }, ...rest],
    sets: plan.sets,
    ...(plan.hostSets === undefined ? {} : { hostSets: plan.hostSets }),
  };
}
