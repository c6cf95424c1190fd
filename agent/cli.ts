// The agent's command line: parse (cli-args.ts), run the command, turn failures into exit codes.
// Exit codes: 0 success · 1 invalid input (rules untouched, but for `sync --from-cache`, which then
// applies no container) · 2 usage · 3 the kernel could not be read or programmed (rules untouched).
// Failures print one `error: ...` line on stderr.
import { type AgentCommand, parseAgentArgs } from './cli-args.js';
import { EXIT_OK, reportFailure } from './cli-failure.js';
import type { CliIo } from './cli-io.js';
import { logs, ulogdConfig } from './cli-logs.js';
import { names } from './cli-names.js';
import { syncFromCache } from './cli-sync-cache.js';
import { syncFromFiles } from './cli-sync-files.js';
import { uninstall } from './cli-uninstall.js';

export { EXIT_APPLY_FAILED, EXIT_INVALID_INPUT, EXIT_OK, EXIT_USAGE } from './cli-failure.js';

async function run(command: AgentCommand, io: CliIo): Promise<void> {
  switch (command.command) {
    case 'help':
      io.stdout(command.text);
      return;
    case 'sync':
      return syncFromFiles(command, io);
    case 'sync --from-dynamodb':
      // Loaded here: only the table source needs the AWS SDK, so file syncs, the log commands and
      // --help start without evaluating it (about 50 ms of a fresh process).
      await (await import('./cli-sync-table.js')).syncFromTable(command, io);
      return;
    case 'serve':
      return (await import('./cli-serve.js')).serve(command, io);
    case 'sync --from-cache':
      return syncFromCache(command, io);
    case 'uninstall':
      return uninstall(command, io);
    case 'logs':
      return logs(command, io);
    case 'ulogd-config':
      return ulogdConfig(command, io);
    case 'names':
      return names(command, io);
  }
}

/** Run the CLI; returns the exit code instead of exiting, so it can be tested in-process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await run(parseAgentArgs(argv), io);
    return EXIT_OK;
  } catch (error) {
    return reportFailure(error, io);
  }
}
