// `agent sync --from-cache …`, what a cell's boot unit runs before its network is up: the snapshot the
// cell last applied, from its own copy (source/cache-only.ts), for the containers file as it is now.
// No table is read and nothing is reported; the next `sync --from-dynamodb` takes over from there.
// A missing or refused containers file lists no container (the overlay stays closed). Ends with one
// log line (sync-summary.ts) on stdout, as `--from-dynamodb` does.
import { existsSync } from 'node:fs';
import { ValidationError } from '../core/domain/errors.js';
import { quote } from '../core/domain/validation.js';
import { jsonLineLog } from '../core/log.js';
import type { Container } from '../core/plan/model.js';
import { createCellAgent } from './cell-agent.js';
import type { SyncFromCache } from './cli-args.js';
import type { CliIo } from './cli-io.js';
import { describeDryRun } from './dry-run-text.js';
import { RefusedInputApplied } from './errors.js';
import { CACHE_ONLY } from './source/cache-only.js';
import { readContainersFile } from './source/files.js';
import { AGENT_SERVICE, CELL_SYNCED, changes, HOST_SET_KEPT } from './sync-summary.js';

/** Only a report names the cell, and this run sends none. */
const CELL_NAME = 'this-cell';

/** What was wrong with the containers file, when the sync went ahead without it. */
type ContainersProblem = { readonly missing: boolean; readonly message: string };

export async function syncFromCache(args: SyncFromCache, io: CliIo): Promise<void> {
  const started = performance.now();
  let problem: ContainersProblem | undefined;
  // At boot, a containers file that is missing (not written yet) or refused must not leave the kernel
  // without rules: the sync goes ahead with no container listed, which refuses every overlay source
  // (`--unknown-sources reject`) until a sync with a valid file.
  const readContainers = async (path: string, overlayCidr: string | undefined): Promise<Container[]> => {
    if (!existsSync(path)) {
      problem = { missing: true, message: `--containers: ${quote(path)} does not exist` };
      return [];
    }
    try {
      return await readContainersFile(path, { overlayCidr });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problem = { missing: false, message: error.message };
      return [];
    }
  };
  const agent = createCellAgent({
    readContainers,
    snapshots: CACHE_ONLY,
    stateDir: args.stateDir,
    cellName: CELL_NAME,
    containersFile: args.containers,
    overlayCidr: args.overlayCidr,
    unknownSources: args.unknownSources,
    denyLog: args.denyLog,
    denyNetworks: args.denyNetworks,
    mode: args.dryRun ? 'dry-run' : 'apply',
    netns: args.netns,
    runner: io.runner,
  });
  const result = await agent.sync();
  if (args.dryRun) io.stdout(describeDryRun(result.sync, result.containers, result.previous?.()));
  const log = jsonLineLog({ service: AGENT_SERVICE, write: (line) => io.stdout(`${line}\n`) });
  for (const kept of result.sync.hostSetProblems ?? []) log.warn(HOST_SET_KEPT, { problem: kept });
  if (problem !== undefined) log.warn(NO_CONTAINERS_LISTED, { problem: problem.message });
  if (result.copySetAside !== undefined) log.warn(COPY_SET_ASIDE, { reason: result.copySetAside });
  log.info(CELL_SYNCED, { ...result.summary, ...changes(result.sync, performance.now() - started) });
  // A refused file is still an error (exit 1), though the sync went ahead; a missing one is a boot
  // before the container runtime wrote it.
  if (problem !== undefined && !problem.missing) {
    throw new RefusedInputApplied(`${problem.message}; applied with no container listed`);
  }
}

/** The warning line's message when the cell's copy was set aside (converge.ts currentCopy). */
export const COPY_SET_ASIDE = "cell's copy not applied: the overlay is closed until a table sync";

/** The warning line's message when the containers file was missing or refused. */
export const NO_CONTAINERS_LISTED = 'containers file not used: no container listed';
