// Growing the kernel's table of sets ahead of a sync that will create many sets in a kernel holding
// few (after a reboot, or after the agent's sets were removed). The kernel keeps the sets of a
// namespace in an array that starts with room for 256 and grows 64 slots at a time, waiting for an
// RCU grace period at each step; creating 845 sets in a fresh namespace spends about 110 of its 250 ms
// there (measured: the same `ipset restore` took 144 ms once the array had grown). Growing it while
// the agent parses and plans, when the kernel is idle, takes that wait off the sync's path. The array
// keeps its size when the sets that grew it are destroyed, so placeholders do it: created, destroyed
// again. A cell that keeps its state knows how many sets to make room for (growSetTable); a first
// sync does not, and grows until its own first sets go in (startOpenGrowth). Best effort: a sync
// never fails for it.
import { lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWNED_PREFIX } from '../core/plan/names.js';
import type { CommandRunner } from './runner.js';

/** Placeholders are owned sets (core/plan/names.ts), so a sync destroys any that a killed restore left. */
export const GROW_SET_PREFIX = `${OWNED_PREFIX}t-grow-`;
/** A placeholder: the smallest set there is, never filled. */
const PLACEHOLDER_TYPE = 'hash:net family inet hashsize 64 maxelem 1';
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
    ...names.map((name) => `create ${name} ${PLACEHOLDER_TYPE}`),
    ...names.map((name) => `destroy ${name}`),
  ];
  // -exist: a placeholder of the same name left by a killed growth is taken as created (a plain
  // restore stops there, leaving the ones it created), and destroyed with the rest.
  await runner('ipset', ['restore', '-exist'], `${lines.join('\n')}\n`).catch(() => undefined);
}

/** Growth of the table of sets that runs until told to stop, and removes its placeholders then. */
export interface TableGrowth {
  /** Tells it to stop after the step under way; returns at once. */
  stop(): void;
  /** Stops it, and resolves once its placeholders are gone; the same promise every call. */
  finish(): Promise<void>;
}

/**
 * When a first sync grows the table without a count: for a cell of at least 32 sources (apps, spaces,
 * security-group bindings) and, when its size is known, a policies document of at least 1 Mi
 * characters. Smaller cells rarely need more than the initial 256 sets, and there a growth only
 * costs: its processes and the wait for its last step (measured: 10 ms more on a 35 ms first sync of
 * 20 containers, 16 ms on 140 ms for 10 sources with 2,500 policies each, against 40-60 ms less at
 * 250 × 100).
 */
export const OPEN_GROWTH_MIN_SOURCES = 32;
export const OPEN_GROWTH_MIN_LENGTH = 1024 * 1024;

export function opensGrowth(sources: number, policiesLength: number | undefined): boolean {
  return (
    sources >= OPEN_GROWTH_MIN_SOURCES && (policiesLength === undefined || policiesLength >= OPEN_GROWTH_MIN_LENGTH)
  );
}

let openGrowthRunning = false;
const NO_GROWTH: TableGrowth = { stop: () => undefined, finish: () => Promise.resolve() };

/** Placeholders one step of an open-ended growth adds: the kernel grows its table 64 slots at a time. */
const SLOTS_PER_STEP = 64;
/** Steps an open-ended growth takes at most (16,384 sets): a bound should a stop never come. */
export const OPEN_GROWTH_MAX_STEPS = 256;

// Adds placeholders 64 at a time, one `ipset restore` each, until the stop file appears, its folder is
// gone, the process that started it is gone (killed without it: nothing would ever stop it), or the
// step bound is reached; then destroys every placeholder it may have made (-exist: a step cut short
// made fewer), and removes its folder (empty but for the stop file), which a sync killed without it
// would leave (one killed with it is swept by a later growth: sweepGrowthFolders). Arguments are
// positional, never part of the script: the folder, the prefix, the bound.
const OPEN_GROWTH_SCRIPT = `folder=$1 prefix=$2 steps=$3 made=0 i=0 parent=$PPID
while [ "$made" -lt "$steps" ] && [ -d "$folder" ] && [ ! -e "$folder/stop" ] && kill -0 "$parent" 2>/dev/null; do
  made=$((made + 1))
  while [ "$i" -lt $((made * ${SLOTS_PER_STEP})) ]; do
    echo "create $prefix$i ${PLACEHOLDER_TYPE}"
    i=$((i + 1))
  done | ipset restore -exist || break
  i=$((made * ${SLOTS_PER_STEP}))
done
i=0
while [ "$i" -lt $((made * ${SLOTS_PER_STEP})) ]; do
  echo "destroy $prefix$i"
  i=$((i + 1))
done | ipset restore -exist
[ -n "$folder" ] && rm -f "$folder/stop" && rmdir "$folder" 2>/dev/null
`;

/** The temporary folders of open growths (a stop file each) start with this, in the system's tmpdir. */
const GROWTH_FOLDER_PREFIX = 'dyneg-grow-';
/** A growth folder older than this is a killed growth's: no growth runs for so long. */
export const STALE_GROWTH_FOLDER_MS = 10 * 60_000;

/**
 * Removes the folders that killed growths left in `dir`: a loop killed with its agent (a stopped
 * systemd unit kills every process of the unit) cannot remove its own. Only folders older than
 * STALE_GROWTH_FOLDER_MS; removing a running growth's folder would only stop it early. Best effort.
 */
export function sweepGrowthFolders(dir: string, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.startsWith(GROWTH_FOLDER_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const folder = join(dir, name);
    try {
      // A folder itself, never what a link of that name points to, and one of this user's.
      const found = lstatSync(folder);
      const ours = process.getuid === undefined || found.uid === process.getuid();
      if (found.isDirectory() && ours && now - found.mtimeMs > STALE_GROWTH_FOLDER_MS) {
        rmSync(folder, { recursive: true });
      }
    } catch {
      // Gone meanwhile, or not ours to remove: left.
    }
  }
}

/**
 * Grows the table of sets for as long as the sync has not said how many sets it needs: for a first
 * sync, which has no count from an earlier apply. The sync stops it as its own first restore starts,
 * so the growth runs while this sync gives the kernel nothing, whatever the plan turns out to need:
 * growth past the plan's sets costs that time, and at most one step's wait. Best effort: a failure
 * changes nothing.
 */
export function startOpenGrowth(runner: CommandRunner, maxSteps = OPEN_GROWTH_MAX_STEPS): TableGrowth {
  // ipset's lock is the host's, not a namespace's: two growths at once (local mode's cells starting
  // together) would hold up each other's sets and every other cell's. One at a time per process.
  if (openGrowthRunning) return NO_GROWTH;
  sweepGrowthFolders(tmpdir());
  let folder: string;
  try {
    folder = mkdtempSync(join(tmpdir(), GROWTH_FOLDER_PREFIX));
  } catch {
    return NO_GROWTH; // Nowhere for the stop file.
  }
  openGrowthRunning = true;
  const stopFile = join(folder, 'stop');
  // Started now, not in a later tick: the parse that follows holds the thread.
  let started: Promise<unknown>;
  try {
    started = runner('sh', ['-c', OPEN_GROWTH_SCRIPT, 'sh', folder, GROW_SET_PREFIX, String(maxSteps)]);
  } catch (error) {
    started = Promise.reject(error);
  }
  // Another may start once this one's runner has answered, whether finish is called or not.
  const run = started
    .catch(() => undefined)
    .finally(() => {
      openGrowthRunning = false;
    });
  let finished: Promise<void> | undefined;
  const stop = (): void => {
    try {
      writeFileSync(stopFile, '');
    } catch {
      // The folder is gone: the growth then runs to its bound, still removing its placeholders.
    }
  };
  return {
    stop,
    finish: () => {
      finished ??= (async () => {
        stop();
        await run;
        // Gone, the folder also stops a loop that outlived its runner's answer (a command helper
        // that died answers at once).
        try {
          rmSync(folder, { recursive: true, force: true });
        } catch {
          // A temporary folder left behind costs nothing; the sync goes on.
        }
      })();
      return finished;
    },
  };
}
