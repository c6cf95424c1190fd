// The agent of one cell, wired once: snapshots in, the cell's kernel (or a preview) out, the apply
// recorded on the cell and reported. `agent sync --from-dynamodb` and local mode's in-process cells
// both run it; they differ only in where the snapshots come from and how they print the result.
import { join } from 'node:path';
import type { CellRegistry } from '../core/domain/cells.js';
import type { DenyLogSetting } from '../core/plan/deny-log.js';
import type { Container } from '../core/plan/model.js';
import { DEFAULT_OVERLAY_CIDR, type DenyNetworks, NO_DENY_NETWORKS, type UnknownSources } from '../core/plan/plan.js';
import { type ConvergeResult, converge } from './converge.js';
import { SYNC_NAMES_FILE } from './names/names-file.js';
import { createProxyProcess } from './proxy/haproxy-process.js';
import type { ProxySyncOptions } from './proxy/proxy-sync.js';
import { cellProxySettings, type ProxySettings, resolveProxySettings } from './proxy/settings.js';
import type { Verify } from './recorded-sync.js';
import { type CommandRunner, emptyKernelRunner, netnsRunner, spawnRunner } from './runner.js';
import type { CACHE_ONLY } from './source/cache-only.js';
import type { SnapshotSource } from './source/dynamodb.js';
import { readContainersFile } from './source/files.js';
import { AgentState } from './state.js';
import type { SyncMemory } from './sync-memory.js';
import type { SyncSummary } from './sync-summary.js';

/**
 * `apply` programs the kernel, records and reports. `dry-run` reads the kernel and computes what
 * would change. `render-only` reads no kernel at all: the whole ruleset against an empty one.
 */
export type AgentMode = 'apply' | 'dry-run' | 'render-only';

export interface CellAgentOptions {
  /** CACHE_ONLY: the cell's own copy of what it last applied (`sync --from-cache`, source/cache-only.ts). */
  readonly snapshots: SnapshotSource | typeof CACHE_ONLY;
  /** Where an apply is reported; never used by a preview. Omitted, nothing is reported. */
  readonly registry?: Pick<CellRegistry, 'record'>;
  /** Where the cell keeps what it applied (see state.ts). */
  readonly stateDir: string;
  readonly cellName: string;
  /** The cell's container metadata store, read again on every sync. */
  readonly containersFile: string;
  /**
   * Reads the containers instead of readContainersFile (`sync --from-cache` lists none when the file
   * is missing or refused, cli-sync-cache.ts). Given the path and overlay this agent has.
   */
  readonly readContainers?: (path: string, overlayCidr: string | undefined) => Promise<Container[]>;
  /** @default DEFAULT_OVERLAY_CIDR (plan.ts) */
  readonly overlayCidr?: string;
  /** New connections from overlay sources the containers file does not list. @default 'reject' (plan.ts) */
  readonly unknownSources?: UnknownSources;
  /** How much of the kernel is read back. @default DEFAULT_VERIFY (recorded-sync.ts) */
  readonly verify?: Verify;
  /** Log refused connections to NFLOG. @default DEFAULT_DENY_LOG (deny-log.ts) */
  readonly denyLog?: DenyLogSetting;
  /** Networks no container may open connections to. @default NO_DENY_NETWORKS (plan.ts) */
  readonly denyNetworks?: DenyNetworks;
  readonly mode: AgentMode;
  /** Program the kernel of this network namespace (local cells); the agent itself stays where it is. */
  readonly netns?: string;
  /** @default spawnRunner; ignored by `render-only` */
  readonly runner?: CommandRunner;
  /**
   * The cell's layer-7 proxy (agent/proxy/): HAProxy in `dir` (run in the cell's namespace), synced
   * after the filter rules; only an `apply` run uses it. Omitted, http and https destinations allow
   * nothing.
   */
  readonly proxy?: CellProxyOptions;
  /**
   * What a caller that outlives one sync keeps between this cell's syncs (sync-memory.ts): local
   * mode's in-process cells keep one per cell. Omitted, every sync plans from nothing.
   */
  readonly memory?: SyncMemory;
}

export interface CellProxyOptions {
  /** The proxy's directory: configuration, pid file, master socket, what was last synced. */
  readonly dir: string;
  /**
   * Checked before anything is applied (a bad value is refused input). A function when they are read
   * from the cell (its resolv.conf) at the proxy step, so that a problem there fails that step, after
   * the filter rules, instead of keeping every filter change from the cell.
   */
  readonly settings: ProxySettings | (() => Promise<ProxySettings>);
  /** See ProxySyncOptions. */
  readonly manage: ProxySyncOptions['manage'];
}

export interface CellSync extends ConvergeResult {
  /** What the run did, as `agent sync --from-dynamodb` reports it. */
  readonly summary: SyncSummary;
  /** The containers this run read (a dry run names them). */
  readonly containers: readonly Container[];
}

export interface CellAgent {
  sync(): Promise<CellSync>;
}

export function createCellAgent(options: CellAgentOptions): CellAgent {
  const apply = options.mode === 'apply';
  const runner = kernelRunner(options);
  const state = new AgentState(options.stateDir);
  const proxy = apply && options.proxy !== undefined ? proxyOptions(options, options.proxy, runner) : undefined;
  return {
    async sync() {
      const containers =
        options.readContainers === undefined
          ? await readContainersFile(options.containersFile, { overlayCidr: options.overlayCidr })
          : await options.readContainers(options.containersFile, options.overlayCidr);
      const result = await converge({
        source: options.snapshots,
        state,
        containers,
        cellName: options.cellName,
        ...(apply && options.registry ? { registry: options.registry } : {}),
        ...(proxy === undefined ? {} : { proxy }),
        sync: {
          overlayCidr: options.overlayCidr,
          unknownSources: options.unknownSources,
          ...(options.verify === undefined ? {} : { verify: options.verify }),
          ...(options.denyLog === undefined ? {} : { denyLog: options.denyLog }),
          ...(options.denyNetworks === undefined ? {} : { denyNetworks: options.denyNetworks }),
          dryRun: !apply,
          // The names refresh (`agent names --from-sync`) follows it: sync.ts, names-file.ts.
          ...(apply ? { namesFile: join(options.stateDir, SYNC_NAMES_FILE) } : {}),
          ...(options.memory === undefined ? {} : { memory: options.memory }),
          runner,
        },
      });
      const summary: SyncSummary = {
        version: result.version,
        origin: result.origin,
        changed: result.sync.changed,
        applied: apply,
        rules: result.sync.stats.rules,
        containers: containers.length,
        reported: result.reported,
      };
      return { ...result, summary, containers };
    },
  };
}

function kernelRunner(options: CellAgentOptions): CommandRunner {
  if (options.mode === 'render-only') return emptyKernelRunner;
  const runner = options.runner ?? spawnRunner;
  return options.netns === undefined ? runner : netnsRunner(options.netns, runner);
}

/** What the proxy step runs with; settings given as values are checked now, read ones at the step. */
function proxyOptions(
  options: CellAgentOptions,
  proxy: CellProxyOptions,
  runner: CommandRunner,
): ProxySyncOptions | (() => Promise<ProxySyncOptions>) {
  const cell = {
    overlayCidr: options.overlayCidr ?? DEFAULT_OVERLAY_CIDR,
    denyNetworks: options.denyNetworks ?? NO_DENY_NETWORKS,
  };
  const withSettings = (settings: ProxySettings): ProxySyncOptions => {
    const forCell = cellProxySettings(settings, cell);
    resolveProxySettings(forCell); // Throws a ValidationError naming the bad value.
    return {
      process: createProxyProcess({ dir: proxy.dir, runner }),
      runner,
      settings: forCell,
      manage: proxy.manage,
    };
  };
  const { settings } = proxy;
  return typeof settings === 'function' ? async () => withSettings(await settings()) : withSettings(settings);
}
