// What ends an egressctl command early: one line for stderr, an optional hint saying what to do, and
// the exit code (exit-codes.ts). Commands throw these; cli.ts prints them and exits.
import { EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE } from './exit-codes.js';

export class CtlError extends Error {
  override readonly name: string = 'CtlError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The command line is wrong; nothing was sent. */
export class UsageError extends CtlError {
  override readonly name = 'UsageError';
  constructor(message: string, hint?: string) {
    super(message, EXIT_USAGE, hint);
  }
}

/** The command failed: the API refused it, or its input could not be read. */
export class CommandFailed extends CtlError {
  override readonly name = 'CommandFailed';
  constructor(message: string, hint?: string) {
    super(message, EXIT_FAILED, hint);
  }
}

/** No API to talk to, or no valid token for it. */
export class Unreachable extends CtlError {
  override readonly name = 'Unreachable';
  constructor(message: string, hint?: string) {
    super(message, EXIT_UNREACHABLE, hint);
  }
}
