// How a failed agent command ends: one `error: ...` line on stderr and an exit code. The CLI
// (cli.ts) and the resident agent's requests (cli-serve.ts) end the same way.
import { ValidationError } from '../core/domain/errors.js';
import { escapeNonPrinting } from '../core/domain/validation.js';
import { USAGE } from './cli-args.js';
import type { CliIo } from './cli-io.js';
import { ApplyError, ProxyStepFailed, RefusedInputApplied, TableReadError, UsageError } from './errors.js';

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
  // Escaped before it is cut: an escape is up to six characters, so cutting first let 3,000 control
  // characters grow to 18,000. The cut never splits an escape.
  const line = escapeNonPrinting(text.replace(/\s*\n\s*/g, ' ').trim());
  if (line.length <= MAX_ERROR_LENGTH) return line;
  const kept = line.slice(0, MAX_ERROR_LENGTH).replace(/\\(u(\{[0-9a-f]*|[0-9a-f]{0,3}))?$/, '');
  return `${kept}… (${line.length - kept.length} more characters)`;
}

/** Says on stderr, in one line, why a command failed, and returns its exit code (`agent serve` too). */
export function reportFailure(error: unknown, io: CliIo): number {
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
  if (error instanceof TableReadError) {
    io.stderr(`error: cannot read the policy table, rules unchanged: ${oneLine(error.message)}\n`);
    return EXIT_APPLY_FAILED;
  }
  if (error instanceof ApplyError || error instanceof ProxyStepFailed) {
    io.stderr(`error: ${oneLine(error.message)}\n`);
    return EXIT_APPLY_FAILED;
  }
  io.stderr(`error: unexpected failure: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
  return EXIT_APPLY_FAILED;
}
