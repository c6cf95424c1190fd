// Agent failures besides bad input (which is the domain's ValidationError).

/** What a caught value says: its message when it is an Error, else itself as text. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The command line itself is wrong. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The kernel could not be read or programmed; the rules in force are unchanged. */
export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(
    message: string,
    readonly command: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * The policy table could not be read (unreachable, silent past the client's timeouts, access
 * denied, no such table); nothing was planned or applied, the rules in force are unchanged.
 */
export class TableReadError extends Error {
  override readonly name = 'TableReadError';
}

/**
 * Input was refused, and the command applied a safe state without it (`sync --from-cache` with a
 * refused containers file lists no container). Exit 1 as for any refused input, but the rules did change.
 */
export class RefusedInputApplied extends Error {
  override readonly name = 'RefusedInputApplied';
}

/**
 * The filter rules were applied, recorded and reported, then the proxy step failed (its settings, the
 * cell's resolv.conf, HAProxy or the nat table). Its redirects are taken away as it fails, so http and
 * https destinations allow nothing until a sync's proxy step succeeds (converge.ts); `redirectsLeft`
 * says why they could not be, when they could not.
 */
export class ProxyStepFailed extends Error {
  override readonly name = 'ProxyStepFailed';
  constructor(version: number, cause: string, redirectsLeft?: string) {
    const after =
      redirectsLeft === undefined
        ? 'http and https destinations allow nothing until it succeeds'
        : `and its redirects could not be removed (${redirectsLeft})`;
    super(`the filter rules are applied (policy version ${version}); the proxy step failed, ${after}: ${cause}`);
  }
}

/** First non-empty line of a tool's stderr, for one-line error messages. */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '') ?? ''
  );
}
