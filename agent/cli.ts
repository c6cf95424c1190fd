// The agent's command line: parse (cli-args.ts), run the command, turn failures into exit codes.
// Exit codes: 0 success · 1 invalid input (rules untouched, but for `sync --from-cache`, which then
// applies no container) · 2 usage · 3 the kernel could not be read or programmed (rules untouched).
// Failures print one `error: ...` line on stderr.
import { ValidationError } from '../core/domain/errors.js';
import { escapeNonPrinting } from '../core/domain/validation.js';
import { type AgentCommand, parseAgentArgs, USAGE } from './cli-args.js';
import type { CliIo } from './cli-io.js';
import { logs, ulogdConfig } from './cli-logs.js';
import { names } from './cli-names.js';
import { syncFromCache } from './cli-sync-cache.js';
import { syncFromFiles } from './cli-sync-files.js';
import { uninstall } from './cli-uninstall.js';
import { ApplyError, RefusedInputApplied, UsageError } from './errors.js';

export const EXIT_OK = 0;
export const EXIT_INVALID_INPUT = 1;
export const EXIT_USAGE = 2;
export const EXIT_APPLY_FAILED = 3;

/**
 * Past this many characters an error line is cut: input validation already lists at most a few
 * problems (core/domain/validation.ts), this also bounds what other failures quote (a tool's stderr).
 */
const MAX_ERROR_LENGTH = 3000;

/** One line an operator's terminal shows as it is: no newlines, no control or bidi characters, bounded. */
function oneLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ').trim();
  const cut =
    line.length > MAX_ERROR_LENGTH
      ? `${line.slice(0, MAX_ERROR_LENGTH)}… (${line.length - MAX_ERROR_LENGTH} more characters)`
      : line;
  return escapeNonPrinting(cut);
}

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
      return (await import('./cli-sync-table.js')).syncFromTable(command, io);
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
    if (error instanceof UsageError) {
      io.stderr(`error: ${oneLine(error.message)}\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof RefusedInputApplied) {
      io.stderr(`error: invalid input: ${oneLine(error.message)}\n`);
      return EXIT_INVALID_INPUT;
    }
    if (error instanceof ValidationError) {
      io.stderr(`error: invalid input, rules unchanged: ${oneLine(error.message)}\n`);
      return EXIT_INVALID_INPUT;
    }
    if (error instanceof ApplyError) {
      io.stderr(`error: ${oneLine(error.message)}\n`);
      return EXIT_APPLY_FAILED;
    }
    io.stderr(`error: unexpected failure: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    return EXIT_APPLY_FAILED;
  }
}
