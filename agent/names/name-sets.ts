// The kernel side of host names: one `hash:ip` set per destination with hosts (hostSetName, a hash of
// the destination's id and names: the name stays while its members follow DNS), holding exactly the
// addresses its names are allowed now. Only host sets (HOST_SET_PREFIX) are ever read, written or destroyed.
//
// Each pass rebuilds every wanted set in a scratch set and swaps it in (`ipset swap`), all in one
// `ipset restore`: a rule matching the set sees the old members or the new ones, never a half-way
// state, whatever the diff; the members are never read back (no `ipset save` of every set on the
// cell, which holds the sync's large sets too), and any drift is repaired by the next pass. A pass
// writes Σ members + 4 lines per set (64 addresses × 100 destinations: ~7,000 lines, tens of ms).
// Sets no destination wants any more are destroyed in a second restore; one a rule still uses cannot
// be (the kernel refuses), which is reported and tried again next pass.
//
// Every member carries a kernel timeout: the end of its grace (name-state.ts). The kernel removes it
// then by itself, so an address whose time is over stops being allowed even when no refresh runs to
// take it out (the process stopped, or cannot start). A pass that renews it writes a new timeout.
import { hostTempSetName, isHostSet } from '../../core/plan/names.js';
import { ApplyError, firstLine } from '../errors.js';
import { runRestore } from '../ipsets.js';
import type { CommandRunner } from '../runner.js';

/**
 * hash:ip of IPv4 addresses with timeouts (0: members stay unless added with one); every host set and
 * its scratch set are made alike (the sync creates host sets empty with the same type, sync.ts). A set
 * made before timeouts swaps with one made with them: the kernel only compares the set types.
 */
export const HOST_SET_TYPE = 'hash:ip family inet timeout 0';
const SET_TYPE = HOST_SET_TYPE;

/** The longest timeout ipset takes, in seconds (about 24.8 days). */
export const MAX_MEMBER_TIMEOUT_SECONDS = 2_147_483;

/** A host set's member: an address, and how many seconds more the kernel keeps it. */
export interface HostMember {
  readonly address: string;
  readonly seconds: number;
}

/** The timeout a member is added with: whole seconds, at least 1 (0 would keep it for good). */
const timeoutOf = (seconds: number): number =>
  Math.min(MAX_MEMBER_TIMEOUT_SECONDS, Math.max(1, Math.ceil(Number.isFinite(seconds) ? seconds : 1)));

export interface HostSetUpdate {
  /** Lines of the restore that creates and rewrites the wanted sets. */
  readonly write: readonly string[];
  /** Lines of the restore that destroys the host sets no longer wanted. */
  readonly destroy: readonly string[];
  readonly created: readonly string[];
}

/**
 * The restores that make the kernel's host sets `wanted` (set name → addresses), given the host set
 * names the kernel has (`existing`, from `ipset list -n`; other names are ignored).
 */
export function planHostSets(
  wanted: ReadonlyMap<string, readonly HostMember[]>,
  existing: Iterable<string>,
): HostSetUpdate {
  const present = new Set([...existing].filter(isHostSet));
  const write: string[] = [];
  const created: string[] = [];
  const temps = new Set<string>();
  for (const [name, members] of [...wanted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!isHostSet(name)) throw new Error(`not a host set name: ${name}`);
    if (!present.has(name)) {
      write.push(`create ${name} ${SET_TYPE}`);
      created.push(name);
    }
    const temp = hostTempSetName(name);
    temps.add(temp);
    // A scratch set left by a pass that died half-way is dropped first.
    if (present.has(temp)) write.push(`destroy ${temp}`);
    write.push(`create ${temp} ${SET_TYPE}`);
    // One line per address: the latest of its timeouts when it comes twice.
    const latest = new Map<string, number>();
    for (const member of members) latest.set(member.address, Math.max(latest.get(member.address) ?? 0, member.seconds));
    for (const [address, seconds] of [...latest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      write.push(`add ${temp} ${address} timeout ${timeoutOf(seconds)}`);
    }
    write.push(`swap ${temp} ${name}`, `destroy ${temp}`);
  }
  const destroy = [...present].filter((name) => !wanted.has(name) && !temps.has(name)).sort();
  return { write, destroy, created };
}

export interface HostSetResult {
  readonly written: number;
  readonly created: number;
  readonly destroyed: number;
  /** Sets that could not be destroyed (still used by a rule), with why. */
  readonly problems: readonly string[];
}

/** The host set names in an `ipset list -n` output. */
export function hostSetNamesIn(listing: string): string[] {
  return listing
    .split('\n')
    .map((line) => line.trim())
    .filter(isHostSet);
}

/** The host set names in the kernel (`ipset list -n`). */
export async function readHostSetNames(runner: CommandRunner): Promise<string[]> {
  const result = await runner('ipset', ['list', '-n']);
  if (result.code !== 0) {
    throw new ApplyError(
      `cannot list ipsets: ipset exited with ${result.code}: ${firstLine(result.stderr)}`,
      'ipset',
      result.stderr,
    );
  }
  return hostSetNamesIn(result.stdout);
}

/**
 * Makes the kernel's host sets exactly `wanted` (with `destroyUnwanted` false, leaves the others:
 * the sync destroys them when it follows the sync's names document). Throws an ApplyError when the write fails (the sets
 * are then as they were, or some already swapped: each set whole, old or new); a failed destroy is
 * only reported.
 */
export async function applyHostSets(
  runner: CommandRunner,
  wanted: ReadonlyMap<string, readonly HostMember[]>,
  destroyUnwanted = true,
): Promise<HostSetResult> {
  const planned = planHostSets(wanted, await readHostSetNames(runner));
  const update = destroyUnwanted ? planned : { ...planned, destroy: [] };
  if (update.write.length > 0) {
    const failure = await runRestore(runner, `${update.write.join('\n')}\n`);
    if (failure !== undefined) throw failure;
  }
  const problems: string[] = [];
  let destroyed = 0;
  // One by one: a set a rule still uses must not keep the others alive.
  for (const name of update.destroy) {
    const failure = await runRestore(runner, `destroy ${name}\n`);
    if (failure === undefined) destroyed += 1;
    else problems.push(`${name} not destroyed: ${failure.message}`);
  }
  return { written: wanted.size, created: update.created.length, destroyed, problems };
}
