// `agent sync --from-cache …`, what a cell's boot unit runs before its network is up: the snapshot the
// cell last applied, from its own copy (source/cache-only.ts), for the containers file as it is now.
// No table is read and nothing is reported; the next `sync --from-dynamodb` takes over from there.
// Ends with one log line (sync-summary.ts) on stdout, as `--from-dynamodb` does.
import { jsonLineLog } from '../core/log.js';
import { createCellAgent } from './cell-agent.js';
import type { SyncFromCache } from './cli-args.js';
import type { CliIo } from './cli-io.js';
import { describeChanges } from './dry-run-text.js';
import { CACHE_ONLY } from './source/cache-only.js';
import { AGENT_SERVICE, CELL_SYNCED, changes, HOST_SET_KEPT } from './sync-summary.js';

/** Only a report names the cell, and this run sends none. */
const CELL_NAME = 'this-cell';

export async function syncFromCache(args: SyncFromCache, io: CliIo): Promise<void> {
  const started = performance.now();
  const agent = createCellAgent({
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
  if (args.dryRun) {
    io.stdout(describeChanges(result.sync, result.containers));
    const sets = [...result.sync.setsBefore, ...result.sync.setsAfter].map((line) => `# ipset: ${line}\n`).join('');
    io.stdout(`${sets}${result.sync.payload ?? '# no changes\n'}`);
  }
  const log = jsonLineLog({ service: AGENT_SERVICE, write: (line) => io.stdout(`${line}\n`) });
  for (const problem of result.sync.hostSetProblems ?? []) log.warn(HOST_SET_KEPT, { problem });
  log.info(CELL_SYNCED, { ...result.summary, ...changes(result.sync, performance.now() - started) });
}
