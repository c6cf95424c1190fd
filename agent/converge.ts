// One convergence run on a cell: newest allowed snapshot → rules in the kernel → what was applied
// recorded on the cell and reported to the table. Run by the cell agent (cell-agent.ts).

import type { CellRegistry } from '../core/domain/cells.js';
import { ValidationError } from '../core/domain/errors.js';
import { hostedShardKeys } from '../core/domain/shard-keys.js';
import { snapshotToPolicyList } from '../core/domain/snapshot.js';
import type { PoliciesWithGroups } from '../core/domain/snapshot-groups.js';
import type { Container } from '../core/plan/model.js';
import { readRecordInput } from './applied-record.js';
import { messageOf, ProxyStepFailed, TableReadError } from './errors.js';
import { dropRedirects } from './proxy/drop-redirects.js';
import { removeInterception } from './proxy/interception.js';
import { type ProxyStepInput, type ProxyStepResult, proxyStep } from './proxy/proxy-step.js';
import type { ProxySyncOptions } from './proxy/proxy-sync.js';
import { type RecordedSyncOptions, type RecordedSyncResult, syncRecorded } from './recorded-sync.js';
import { type CommandRunner, spawnRunner } from './runner.js';
import { CACHE_ONLY, desiredFromCache } from './source/cache-only.js';
import type { DesiredSnapshot } from './source/desired-state.js';
import { desiredSnapshot, emptyDesired, type SnapshotSource } from './source/dynamodb.js';
import type { AgentState, AppliedState } from './state.js';
import { destroyHostSets } from './sync.js';

export interface ConvergeOptions {
  /** CACHE_ONLY: the cell's own copy of what it last applied, without the table (cache-only.ts). */
  readonly source: SnapshotSource | typeof CACHE_ONLY;
  readonly state: AgentState;
  readonly containers: readonly Container[];
  readonly cellName: string;
  /** Where the cell reports what it applied; omitted, nothing is reported. */
  readonly registry?: Pick<CellRegistry, 'record'>;
  readonly sync?: RecordedSyncOptions;
  /**
   * The cell's layer-7 proxy; omitted, http and https destinations allow nothing (no proxy). A
   * function when its settings are read from the cell at the proxy step (its resolv.conf): a problem
   * there then fails that step, after the filter rules, rather than keep every filter change out.
   */
  readonly proxy?: ProxySyncOptions | (() => Promise<ProxySyncOptions>);
  readonly now?: () => Date;
}

export interface ConvergeResult {
  readonly version: number;
  readonly origin: 'table' | 'cache' | 'empty';
  readonly sync: RecordedSyncResult;
  /** False if the report to the table failed (the rules are applied all the same). */
  readonly reported: boolean;
  /** What the proxy step did, when the cell has a proxy. */
  readonly proxy?: ProxyStepResult;
  /**
   * A dry run only: the policies of the cell's last apply (its own copy), decoded when asked, so the
   * dry run's account can name what a change removes (dry-run-diff.ts); undefined without a usable copy.
   */
  readonly previous?: () => PoliciesWithGroups | undefined;
  /** `sync --from-cache` only: why the cell's copy was set aside for the empty state (currentCopy). */
  readonly copySetAside?: string;
}

export async function converge(options: ConvergeOptions): Promise<ConvergeResult> {
  const applied = options.state.applied();
  const hosted = hostedShardKeys(options.containers);
  // The periodic repair sync (verify full) reads every hosted shard again, not only changed ones.
  const reread = options.sync?.verify === 'full';
  const cached = options.state.cachedSnapshot();
  const runner = options.sync?.runner ?? spawnRunner;
  const { desired, setAside } =
    options.source === CACHE_ONLY
      ? await currentCopy(desiredFromCache(applied, cached, hosted), applied?.input, runner)
      : {
          desired: await desiredSnapshot(
            options.source,
            applied,
            cached,
            hosted,
            reread,
            options.sync?.memory?.shards,
          ).catch((error: unknown) => {
            // Refused content stays a refusal (exit 1); anything else the reads threw is the table's.
            if (error instanceof ValidationError) throw error;
            throw new TableReadError(error instanceof Error ? error.message : String(error));
          }),
          setAside: undefined,
        };
  const copySetAside = setAside === undefined ? {} : { copySetAside: setAside };
  // The kernel's record (applied-record.ts) says whether this snapshot, for these containers, is in
  // force already; only if not is it decoded and planned. The empty state has no checksum of its own.
  const policiesDigest = desired.digest ?? `snapshot ${desired.version} ${desired.sha256}`;
  let decoded: PoliciesWithGroups | undefined;
  // Decoded once for the filter table and the proxy, and only when one of them needs it.
  const policies = (): PoliciesWithGroups => {
    decoded ??= snapshotToPolicyList(desired.snapshot);
    return decoded;
  };
  // What this cell last applied tells whether the kernel's record can hold at all (recorded-sync.ts).
  const lastInput = applied?.input === undefined ? {} : { lastInput: applied.input };
  // And how many sets it held: a kernel holding far fewer (a reboot) has its table of sets grown early.
  const expectedSets = applied?.sets === undefined ? {} : { expectedSets: applied.sets };
  let redirectsLeft: unknown;
  if (options.source === CACHE_ONLY && options.sync?.dryRun !== true) {
    // The proxy's configuration and redirects are the table's: they match containers by address, so
    // a container now at a removed one's address would reach that one's http and https destinations
    // through them. A sync from the cell's copy (at boot none are there; after a table it could not
    // read, they may be) takes the redirects away first, so layer-7 connections meet the filter
    // rules, which refuse them, until a table sync runs the proxy step again (forced: its record is
    // stale now). Marked first: a removal that fails still forces that step. A failure here must not
    // keep the filter rules out (the boot unit's whole job): it is thrown once they are applied.
    try {
      options.state.markProxyDropped();
      await removeInterception(runner);
    } catch (error) {
      redirectsLeft = error;
    }
  }
  // A failure once the sync has started writing to the kernel takes the proxy's redirects away, as
  // one after it (below): the filter rules may be the new ones, the proxy's configuration the old.
  let writing = false;
  const onWrite = () => {
    writing = true;
  };
  const result = await syncRecorded(
    { policiesDigest, policies, containers: options.containers },
    { ...options.sync, ...lastInput, ...expectedSets, onWrite },
  ).catch(async (error: unknown) => {
    if (writing) await dropRedirects(options.state, runner);
    throw error;
  });
  const version = desired.version;
  if (options.sync?.dryRun === true) {
    const previous = () => appliedPolicies(applied, cached, hosted);
    return { version, origin: desired.origin, sync: result, reported: false, previous, ...copySetAside };
  }

  // The filter rules are in force. Whatever fails from here on (the record, the report, the proxy
  // step) must not leave the proxy's redirects to a proxy whose configuration predates them: they
  // go, and the next run syncs the proxy whatever its record says (the proxy step's own failures do
  // this in runProxyStep).
  try {
    const syncedAt = (options.now ?? (() => new Date()))().toISOString();
    // A resync of the version already in force keeps the time it was first applied.
    const appliedAt = applied?.version === version && applied.epoch === desired.epoch ? applied.appliedAt : syncedAt;
    if (desired.origin !== 'empty') {
      const epoch = desired.epoch === undefined ? {} : { epoch: desired.epoch };
      const layout = desired.layout === undefined ? {} : { layout: desired.layout };
      await recordForward(
        options.state,
        {
          version,
          sha256: desired.sha256,
          appliedAt,
          ...epoch,
          ...layout,
          input: result.input,
          sets: result.stats.sets,
        },
        desired.bytes,
      );
    }
    // The filter rules are in force and recorded; the redirects that could not be taken away fail the run.
    if (redirectsLeft !== undefined) throw redirectsLeft;
    let reported = false;
    if (options.registry) {
      try {
        await options.registry.record({
          name: options.cellName,
          appliedVersion: version,
          appliedAt,
          syncedAt,
          containers: options.containers.length,
          rules: result.stats.rules,
          sources: hosted,
        });
        reported = true;
      } catch {
        // The kernel is programmed; a lost report only shows the cell as lagging until the next sync.
      }
    }
    // After the filter table: it never opens a layer-7 destination by address, whatever happens here.
    // A failure here fails the run (the filter rules stay applied and recorded; the next run retries).
    // Read once: the step is forced while the mark is there, and the mark goes once the step has run.
    const dropped = options.proxy !== undefined && options.state.proxyDropped();
    const proxy =
      options.proxy === undefined
        ? undefined
        : await runProxyStep(options.proxy, options.state, runner, version, {
            policiesDigest,
            policies,
            containers: options.containers,
            force: options.sync?.verify === 'full' || dropped,
          });
    if (dropped) options.state.clearProxyDropped();
    // A host set the filter rules stopped using may have been kept for the proxy's nat exemption,
    // which the proxy step has just dropped: destroyed now, not at the next changed sync.
    const kept = result.hostSetsKept ?? [];
    const sync = proxy === undefined || kept.length === 0 ? result : await destroyKeptHostSets(runner, result, kept);
    return {
      version,
      origin: desired.origin,
      sync,
      reported,
      ...(proxy === undefined ? {} : { proxy }),
      ...copySetAside,
    };
  } catch (error) {
    if (!(error instanceof ProxyStepFailed)) await dropRedirects(options.state, runner);
    throw error;
  }
}

/**
 * The cell's copy, unless the kernel's record names another apply than the one the copy is of: an
 * apply whose record could not be written (a full disk) left newer rules in force, and going back to
 * the copy could reopen what they revoked, so the empty state (the overlay closed) is applied instead,
 * as when the record cannot be read. A kernel without a record (a boot) takes the copy.
 */
async function currentCopy(
  copy: DesiredSnapshot,
  copyInput: string | undefined,
  runner: CommandRunner,
): Promise<{ readonly desired: DesiredSnapshot; readonly setAside?: string }> {
  if (copy.origin === 'empty' || copyInput === undefined) return { desired: copy };
  // A record that cannot be read may be a newer apply's: closed, as for one that differs.
  const inForce = await readRecordInput(runner).then(
    (input) => ({ input }),
    (error: unknown) => ({ unreadable: messageOf(error) }),
  );
  if ('unreadable' in inForce) {
    return { desired: emptyDesired(), setAside: `the kernel's record cannot be read: ${inForce.unreadable}` };
  }
  if (inForce.input === undefined || inForce.input === copyInput) return { desired: copy };
  return {
    desired: emptyDesired(),
    setAside: `the kernel's record names another apply (${inForce.input}) than the copy's (${copyInput})`,
  };
}

/**
 * The proxy step, failing closed: whatever fails (its settings, HAProxy, the nat table), the proxy's
 * redirects are taken away, so no layer-7 connection reaches a proxy whose configuration may allow
 * what the state just applied revoked, and the step is marked to run whatever its record says next
 * time (a failure before it forgot its record would otherwise leave it answering `recorded`).
 */
async function runProxyStep(
  proxy: ProxySyncOptions | (() => Promise<ProxySyncOptions>),
  state: AgentState,
  runner: CommandRunner,
  version: number,
  input: ProxyStepInput,
): Promise<ProxyStepResult> {
  try {
    return await proxyStep(typeof proxy === 'function' ? await proxy() : proxy, input);
  } catch (error) {
    const { notRemoved } = await dropRedirects(state, runner);
    throw new ProxyStepFailed(version, messageOf(error), notRemoved);
  }
}

/** The policies of the cell's own copy of its last apply, or undefined when there is no usable one. */
function appliedPolicies(
  applied: AppliedState | undefined,
  cached: Buffer | undefined,
  hosted: ReturnType<typeof hostedShardKeys>,
): PoliciesWithGroups | undefined {
  const copy = desiredFromCache(applied, cached, hosted);
  if (copy.origin === 'empty') return undefined;
  try {
    return snapshotToPolicyList(copy.snapshot);
  } catch {
    return undefined;
  }
}

async function destroyKeptHostSets(
  runner: CommandRunner,
  result: RecordedSyncResult,
  kept: readonly string[],
): Promise<RecordedSyncResult> {
  const { hostSetProblems: _problems, hostSetsKept: _kept, ...rest } = result;
  const left = await destroyHostSets(runner, kept);
  return left.problems.length === 0 ? rest : { ...rest, hostSetProblems: left.problems, hostSetsKept: left.kept };
}

/**
 * Records an apply unless a newer version of the same epoch is already on record (another run
 * finished first): the recorded version is what keeps this cell from going back, so within an epoch
 * it only ever moves forward. The same version is recorded again, which restores a missing or
 * corrupt cached snapshot; another epoch's is recorded whatever its version.
 */
async function recordForward(state: AgentState, applied: AppliedState, snapshot: Buffer): Promise<void> {
  const recorded = state.applied();
  if (recorded && recorded.epoch === applied.epoch && recorded.version > applied.version) return;
  await state.recordApplied(applied, snapshot);
}
