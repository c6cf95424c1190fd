// `agent sync --policies FILE --containers FILE`: desired state from two files, nothing recorded.
// `--dry-run` prints the payload (ipset changes first, as comment lines iptables-restore ignores).
import type { SyncFromFiles } from './cli-args.js';
import type { CliIo } from './cli-io.js';
import { readContainersFile, readPoliciesFile } from './source/files.js';
import { sync } from './sync.js';

export async function syncFromFiles(args: SyncFromFiles, io: CliIo): Promise<void> {
  const policies = await readPoliciesFile(args.policies);
  const containers = await readContainersFile(args.containers, { overlayCidr: args.overlayCidr });
  const result = await sync(policies, containers, {
    overlayCidr: args.overlayCidr,
    unknownSources: args.unknownSources,
    dryRun: args.dryRun,
    ...(io.runner === undefined ? {} : { runner: io.runner }),
  });
  if (args.dryRun) {
    const setLines = [...result.setsBefore, ...result.setsAfter].map((line) => `# ipset: ${line}\n`).join('');
    io.stdout(`${setLines}${result.payload ?? (setLines === '' ? '# no changes\n' : '')}`);
  }
}
