// A sync that first asks the kernel whether it already holds what these inputs give. The policies
// are parsed and planned only when it does not: a periodic or repeated sync of unchanged inputs
// costs three short kernel reads (applied-record.ts), whatever the size of the ruleset.
import type { PoliciesWithGroups } from '../core/domain/snapshot-groups.js';
import type { Container } from '../core/plan/model.js';
import { allowSourcesOf } from '../core/plan/plan.js';
import {
  inputDigest,
  type PlanSize,
  readKernelSummary,
  readSetHeaders,
  recordHolds,
  type SetHeaders,
} from './applied-record.js';
import { ApplyError } from './errors.js';
import { namesWrittenFor } from './names/names-file.js';
import { rememberedTable } from './remembered-table.js';
import { spawnRunner } from './runner.js';
import { growSetTable, opensGrowth, placeholdersNeeded, startOpenGrowth, type TableGrowth } from './set-table.js';
import { planOptionsOf, type SyncOptions, type SyncResult, sync, type TableFor } from './sync.js';
import { type KernelTable, readTable } from './table.js';

/**
 * `cheap`: unchanged inputs are checked against the record (hook, root chain, set names and sizes);
 * changed inputs are diffed against every rule but only the sets' sizes. `full`: everything is read
 * back and diffed, member by member, as if nothing were recorded (the periodic sync's repair run).
 */
export const VERIFY_LEVELS = ['cheap', 'full'] as const;
export type Verify = (typeof VERIFY_LEVELS)[number];
export const DEFAULT_VERIFY: Verify = 'cheap';

export function isVerify(value: unknown): value is Verify {
  return VERIFY_LEVELS.some((level) => level === value);
}

export interface RecordedInput {
  /** A digest of the policies document: of its text, or the snapshot's checksum. */
  readonly policiesDigest: string;
  /** The policies themselves, parsed only if the record does not hold. */
  readonly policies: () => PoliciesWithGroups;
  readonly containers: readonly Container[];
  /** The policies document's length in characters, when the caller has its text (set-table.ts, opensGrowth). */
  readonly policiesLength?: number;
}

export interface RecordedSyncOptions extends SyncOptions {
  /** @default DEFAULT_VERIFY */
  readonly verify?: Verify;
  /**
   * The input digest of the caller's last successful apply (RecordedSyncResult.input), when it keeps
   * one. Inputs with another digest cannot find their record in the kernel, so that read is skipped.
   */
  readonly lastInput?: string;
  /**
   * How many sets the caller's last apply held, when it keeps that: a sync into a kernel holding far
   * fewer grows the kernel's table of sets while it parses (set-table.ts).
   */
  readonly expectedSets?: number;
}

export interface RecordedSyncResult extends SyncResult {
  /** True when the record held and nothing was parsed, planned or diffed. */
  readonly recordHeld: boolean;
  /** The digest of these inputs, which the kernel's record now names (applied-record.ts). */
  readonly input: string;
}

export async function syncRecorded(
  input: RecordedInput,
  options: RecordedSyncOptions = {},
): Promise<RecordedSyncResult> {
  const verify = options.verify ?? DEFAULT_VERIFY;
  const digest = inputDigest({
    policies: input.policiesDigest,
    containers: input.containers,
    options: { ...planOptionsOf(options) },
  });
  const runner = options.runner ?? spawnRunner;
  // A dry run shows the exact diff, so it always reads everything back.
  const cheap = verify === 'cheap' && options.dryRun !== true;
  // Changed since the caller's last apply: the record cannot hold, so it is not read.
  const knownChanged = cheap && options.lastInput !== undefined && options.lastInput !== digest;
  let kernelTable: Promise<KernelTable> | TableFor | undefined;
  let sets: SetHeaders | undefined;
  let policies: PoliciesWithGroups | undefined;
  let growing: Promise<void> | undefined;
  let growth: TableGrowth | undefined;
  const remembered = options.memory?.trustedApplied();
  // Whether the diff was made on remembered chains (then a kernel refusal is tried again on a whole read).
  let fromMemory = false;
  if (knownChanged && remembered !== undefined && remembered.input === options.lastInput) {
    // A resident agent that made the last apply: the record's three short reads while the policies
    // are parsed and, while the record still names that apply, the chains as it left them, those the
    // change touches rewritten whole (remembered-table.ts), instead of a read of the whole table.
    const summaryRead = readKernelSummary(runner);
    summaryRead.catch(() => undefined);
    policies = input.policies();
    const summary = await summaryRead;
    sets = { sizes: summary.setSizes, hostSets: summary.hostSets };
    kernelTable = recordHolds(summary, remembered.input)
      ? async (desired, render) => {
          const table = rememberedTable(remembered, summary, desired, render);
          fromMemory = table !== undefined;
          return table ?? readTable(runner);
        }
      : readTable(runner);
  } else if (knownChanged) {
    // The rules and the sets' headers at once: two processes instead of the record's three, read
    // while the policies are parsed.
    kernelTable = readTable(runner);
    kernelTable.catch(() => undefined);
    const headers = readSetHeaders(runner);
    headers.catch(() => undefined);
    policies = input.policies();
    sets = await headers;
  } else if (cheap) {
    const summary = await readKernelSummary(runner);
    // The names document is written only by a sync that plans, after its apply: when it was not
    // written for these inputs (missing, a wiped state directory, an apply that ended before writing
    // it), the record holding is not enough.
    const namesBehind = options.namesFile !== undefined && namesWrittenFor(options.namesFile) !== digest;
    if (summary.record !== undefined && recordHolds(summary, digest) && !namesBehind) {
      return { ...unchanged(summary.record.size), recordHeld: true, input: digest };
    }
    sets = { sizes: summary.setSizes, hostSets: summary.hostSets };
    if (options.expectedSets !== undefined) {
      growing = growSetTable(runner, placeholdersNeeded(options.expectedSets, summary.setSizes.size));
    } else if (summary.setSizes.size === 0 && opensGrowth(sourceCount(input.containers), input.policiesLength)) {
      // No count from an earlier apply and none of the agent's sets in the kernel (a first sync): the
      // table grows while the policies are parsed and planned, and stops as its first sets go in.
      growth = startOpenGrowth(runner);
    }
  }
  // The record missed or was not read: the rules are read while the policies are parsed (the read
  // starts a process); without the sets' headers, every member is read back. A dry run keeps the
  // rules' text too, for its readable account (dry-run-diff.ts).
  kernelTable ??= readTable(runner, { keepRules: options.dryRun === true });
  if (typeof kernelTable !== 'function') kernelTable.catch(() => undefined);
  const syncWith = (table: Promise<KernelTable> | TableFor, known: SetHeaders | undefined) => {
    policies ??= input.policies();
    return sync(policies, input.containers, {
      ...options,
      kernelTable: table,
      record: digest,
      ...(growth === undefined ? {} : { growth }),
      ...(known === undefined
        ? { readBack: sets === undefined ? 'full' : 'sizes' }
        : { readBack: 'sizes', setSizes: known.sizes, hostSetsPresent: known.hostSets }),
    });
  };
  try {
    try {
      return { ...(await syncWith(kernelTable, sets)), recordHeld: false, input: digest };
    } catch (error) {
      // The kernel refused the transaction of a diff made on remembered chains (the rules in force
      // are unchanged): an untouched chain may hold what the memory does not, a foreign jump into a
      // chain the change drops. Once more, on a whole read and the sets' headers read again.
      if (!fromMemory || !(error instanceof ApplyError) || error.command !== TRANSACTION) throw error;
      return { ...(await syncWith(readTable(runner), undefined)), recordHeld: false, input: digest };
    }
  } finally {
    // No process of this sync outlives it.
    await growth?.finish();
    await growing;
  }
}

/** What a refused iptables transaction's ApplyError names (table.ts applyTable). */
const TRANSACTION = 'iptables-restore';

/** The distinct sources (apps, spaces, security-group bindings) the containers' rules come from. */
function sourceCount(containers: readonly Container[]): number {
  return new Set(containers.flatMap((container) => allowSourcesOf(container).map(({ key }) => key))).size;
}

function unchanged(size: PlanSize): SyncResult {
  return {
    payload: undefined,
    setsBefore: [],
    setsAfter: [],
    changed: false,
    chainChanges: [],
    hookInserted: false,
    stats: {
      chains: size.chains,
      rules: size.rules,
      sets: size.sets,
      chainsCreated: 0,
      chainsDeleted: 0,
      rulesWritten: 0,
      rulesDeleted: 0,
      setsCreated: 0,
      setsDestroyed: 0,
    },
  };
}
