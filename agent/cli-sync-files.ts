// `agent sync --policies FILE|- --containers FILE`: desired state from two files (or the policies
// from stdin), nothing recorded but, with `--names-file`, the names document for `agent names`. `--dry-run` prints a readable account of the changes and the payload
// (ipset changes first, as comment lines iptables-restore ignores); an apply ends with one summary
// log line (sync-summary.ts).
import { jsonLineLog } from '../core/log.js';
import { textDigest } from './applied-record.js';
import type { SyncFromFiles } from './cli-args.js';
import { type CliIo, cliRunner } from './cli-io.js';
import { describeDryRun } from './dry-run-text.js';
import { readStdin } from './read-stdin.js';
import { syncRecorded } from './recorded-sync.js';
import { parsePolicies, readContainersFile } from './source/files.js';
import { readInputFile } from './source/read-file.js';
import { AGENT_SERVICE, changes, HOST_SET_KEPT, RULES_APPLIED } from './sync-summary.js';

/** `--policies -` means standard input. */
export const STDIN_PATH = '-';

export async function syncFromFiles(args: SyncFromFiles, io: CliIo): Promise<void> {
  const started = performance.now();
  const policiesText =
    args.policies === STDIN_PATH
      ? await readStdin('--policies', io.stdin)
      : await readInputFile('--policies', args.policies);
  const containers = await readContainersFile(args.containers, { overlayCidr: args.overlayCidr });
  // The policies are parsed only if the kernel does not already hold what this text gives.
  const policiesDigest = textDigest(policiesText);
  const result = await syncRecorded(
    {
      policiesDigest,
      policies: () => parsePolicies(policiesText, '--policies'),
      containers,
      policiesLength: policiesText.length,
    },
    {
      overlayCidr: args.overlayCidr,
      unknownSources: args.unknownSources,
      dryRun: args.dryRun,
      verify: args.verify,
      denyLog: args.denyLog,
      denyNetworks: args.denyNetworks,
      runner: cliRunner(io, args.netns),
      ...(args.namesFile === undefined ? {} : { namesFile: args.namesFile }),
    },
  );
  if (args.dryRun) {
    io.stdout(describeDryRun(result, containers));
    return;
  }
  const log = jsonLineLog({ service: AGENT_SERVICE, write: (line) => io.stdout(`${line}\n`) });
  for (const problem of result.hostSetProblems ?? []) log.warn(HOST_SET_KEPT, { problem });
  log.info(RULES_APPLIED, {
    // A file has no policy version: its checksum says which document is in force.
    policiesSha256: policiesDigest,
    changed: result.changed,
    applied: true,
    rules: result.stats.rules,
    containers: containers.length,
    ...changes(result, performance.now() - started),
  });
}
