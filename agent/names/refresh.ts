// One refresh pass, and the loop that runs them: look up the names that are due, set every host set
// to its names' allowed addresses, save the state, say when the next pass is due. The loop waits for
// no command: it sleeps until the earliest expiry (or grace end) within the policy's bounds.
import type { Log } from '../../core/log.js';
import { hostSetName } from '../../core/plan/names.js';
import { messageOf } from '../errors.js';
import type { CommandRunner } from '../runner.js';
import { applyHostSets, type HostMember } from './name-sets.js';
import {
  allowedUntil,
  applyLookup,
  dueNames,
  type NameEntry,
  type NamePolicy,
  newName,
  nextDelay,
  prune,
  restoreEntry,
} from './name-state.js';
import { type HostDestination, WATCH_INTERVAL_MS } from './names-file.js';
import type { ResolveName } from './resolve.js';
import { readNameStates, writeNameStates } from './state-file.js';

/** Lookups in flight at once. */
export const LOOKUP_CONCURRENCY = 8;

export interface RefreshOptions {
  readonly runner: CommandRunner;
  readonly resolve: ResolveName;
  readonly policy: NamePolicy;
  /** Networks no answer may add (the overlay, the operator's deny networks). */
  readonly never: readonly string[];
  /** Where names.json is kept. */
  readonly stateDir: string;
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * Destroy host sets no destination wants. False when the destinations are the sync's names
   * document (`agent names --from-sync`): the sync writes the document before it creates a new
   * set, and a pass that read the document just before could otherwise destroy that set between
   * its creation and the rules that use it; the sync destroys unused host sets itself, after its
   * rules stopped using them (sync.ts). @default true
   */
  readonly destroyUnwanted?: boolean;
  /** How long past its grace end the kernel keeps an address (KERNEL_MARGIN_MS). For tests. */
  readonly kernelMarginMs?: number;
}

/**
 * How long past its grace end the kernel keeps an address (its member timeout, name-sets.ts): the
 * lookup that renews it is due at its expiry and a pass may take the lookups' 4 s and more, so with
 * a short grace the kernel must not drop it before that pass has written its new timeout.
 */
export const KERNEL_MARGIN_MS = 10_000;

export interface NameProblem {
  /** The host name, or the set, the problem is about. */
  readonly subject: string;
  readonly problem: string;
}

export interface PassResult {
  readonly names: number;
  readonly lookedUp: number;
  readonly failed: number;
  readonly sets: number;
  /** Addresses in all host sets. */
  readonly members: number;
  readonly setsCreated: number;
  readonly setsDestroyed: number;
  /** Whether any set's wanted members differ from the previous pass of this process (true on its first). */
  readonly changed: boolean;
  readonly problems: readonly NameProblem[];
  /** Milliseconds until the next pass is due. */
  readonly nextDelayMs: number;
}

/** The names' state across passes: loaded from the state directory once, then kept in memory. */
export class NameRefresher {
  private states: Map<string, NameEntry> | undefined;
  private lastWanted: string | undefined;
  /** Set when the state file could not be trusted; read once by the caller. */
  stateWarning: string | undefined;

  constructor(private readonly options: RefreshOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private loaded(): Map<string, NameEntry> {
    if (this.states === undefined) {
      const read = readNameStates(this.options.stateDir);
      this.stateWarning = read.warning;
      const now = this.now();
      const { policy, never } = this.options;
      this.states = new Map([...read.states].map(([name, entry]) => [name, restoreEntry(entry, now, policy, never)]));
    }
    return this.states;
  }

  /**
   * One pass for `destinations`. The state is saved even when writing the sets fails (the lookups
   * happened); that failure is then thrown as an ApplyError.
   */
  async pass(destinations: readonly HostDestination[]): Promise<PassResult> {
    const { policy, never } = this.options;
    const previous = this.loaded();
    const start = this.now();
    const wantedNames = new Set(destinations.flatMap((destination) => destination.hosts));
    // Names no destination has any more are forgotten; new ones are due at once.
    const states = new Map<string, NameEntry>();
    for (const name of [...wantedNames].sort()) {
      const entry = previous.get(name);
      states.set(name, entry === undefined ? newName(start) : prune(entry, start, policy));
    }
    const problems: NameProblem[] = [];
    const due = dueNames(states, start);
    let failed = 0;
    await eachLimited(due, LOOKUP_CONCURRENCY, async (name) => {
      const lookup = await this.options.resolve(name);
      if (lookup.kind === 'failed') failed += 1;
      const outcome = applyLookup(states.get(name), lookup, this.now(), policy, never);
      states.set(name, outcome.entry);
      for (const problem of outcome.problems) problems.push({ subject: name, problem });
    });
    this.states = states;
    const now = this.now();
    const wanted = new Map<string, HostMember[]>();
    let members = 0;
    for (const destination of destinations) {
      // Each address until the latest grace end any of the destination's names gives it.
      const until = new Map<string, number>();
      for (const host of destination.hosts) {
        const entry = states.get(host);
        if (entry === undefined) continue;
        for (const allowed of allowedUntil(entry, now, policy)) {
          until.set(allowed.address, Math.max(until.get(allowed.address) ?? 0, allowed.until));
        }
      }
      // Never longer than the longest life an answer can give (a clock stepped back would otherwise
      // make an expiry weeks away): the bound a stopped refresh leaves an address in the kernel for.
      const longest = policy.ttlCeilingMs + policy.graceMs;
      const margin = this.options.kernelMarginMs ?? KERNEL_MARGIN_MS;
      const setMembers = [...until]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([address, end]) => ({ address, seconds: (Math.min(end - now, longest) + margin) / 1000 }));
      wanted.set(hostSetName(destination.id, destination.hosts), setMembers);
      members += setMembers.length;
    }
    writeNameStates(this.options.stateDir, states);
    // What is allowed, not for how long: a pass that only renews timeouts changes nothing.
    const fingerprint = JSON.stringify(
      [...wanted]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, setMembers]) => [name, setMembers.map((member) => member.address)]),
    );
    const changed = fingerprint !== this.lastWanted;
    const sets = await applyHostSets(this.options.runner, wanted, this.options.destroyUnwanted ?? true);
    this.lastWanted = fingerprint;
    for (const problem of sets.problems) problems.push({ subject: 'ipset', problem });
    return {
      names: states.size,
      lookedUp: due.length,
      failed,
      sets: wanted.size,
      members,
      setsCreated: sets.created,
      setsDestroyed: sets.destroyed,
      changed,
      problems,
      nextDelayMs: nextDelay(states, this.now(), policy),
    };
  }
}

/** Runs `work` on every item, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const NAMES_REFRESHED = 'names refreshed';
export const NAMES_STOPPED = 'names refresh stopped';

export interface LoopOptions {
  readonly refresher: NameRefresher;
  /** Read on every pass, so a changed file is followed; on failure the last good list is kept. */
  readonly destinations: () => Promise<HostDestination[]>;
  readonly policy: NamePolicy;
  readonly log: Log;
  readonly stop: AbortSignal;
  /**
   * Asked every `watchIntervalMs` while the loop sleeps: true ends the sleep at once (the names
   * file changed: a new destination is looked up now, not at the next expiry). NamesFileWatch.
   */
  readonly changed?: () => boolean;
  /** @default WATCH_INTERVAL_MS (names-file.ts) */
  readonly watchIntervalMs?: number;
}

/**
 * Passes until `stop` aborts. A failed pass (the kernel refused, the names file became unreadable)
 * is logged and tried again, sooner at first, never later than maxRefreshMs; it never ends the loop.
 */
export async function refreshLoop(options: LoopOptions): Promise<{ passes: number; failures: number }> {
  const { refresher, policy, log, stop } = options;
  let destinations: HostDestination[] | undefined;
  let passes = 0;
  let failures = 0;
  let failedInARow = 0;
  while (!stop.aborted) {
    let delay: number;
    try {
      try {
        destinations = await options.destinations();
      } catch (error) {
        if (destinations === undefined) throw error;
        log.warn('names file unusable, keeping the last good one', { error: messageOf(error) });
      }
      const result = await refresher.pass(destinations);
      logPass(log, result);
      passes += 1;
      failedInARow = 0;
      delay = result.nextDelayMs;
    } catch (error) {
      failures += 1;
      failedInARow += 1;
      delay = Math.min(policy.maxRefreshMs, policy.minRefreshMs * 2 ** Math.min(failedInARow, 20));
      log.error('names refresh failed', { error: messageOf(error), retryInMs: delay });
    }
    if (refresher.stateWarning !== undefined) {
      log.warn('names state not trusted', { problem: refresher.stateWarning });
      refresher.stateWarning = undefined;
    }
    await sleep(delay, stop, options.changed, options.watchIntervalMs ?? WATCH_INTERVAL_MS);
  }
  return { passes, failures };
}

/** One INFO line when the sets changed (DEBUG otherwise), one WARN line per problem. */
export function logPass(log: Log, result: PassResult): void {
  for (const { subject, problem } of result.problems) log.warn('name problem', { name: subject, problem });
  const { problems, ...counts } = result;
  const line = { ...counts, problems: problems.length };
  if (result.changed) log.info(NAMES_REFRESHED, line);
  else log.debug(NAMES_REFRESHED, line);
}

/** Until `ms` passed, `stop` aborted or `changed` (asked every `interval` ms) says true. */
function sleep(ms: number, stop: AbortSignal, changed: (() => boolean) | undefined, interval: number): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve();
    const timer = setTimeout(done, ms);
    const poll =
      changed === undefined
        ? undefined
        : setInterval(() => {
            if (changed()) done();
          }, interval);
    function done(): void {
      clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      stop.removeEventListener('abort', done);
      resolve();
    }
    stop.addEventListener('abort', done, { once: true });
  });
}
