// The one retry loop of the project: transactions that lost a race, keys DynamoDB left unprocessed,
// SSM throttling, a failing local cell, a failing stream batch. Callers say how many attempts, how
// long to wait and which failures are worth another try; tests inject `sleep` and wait for nothing.

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds to wait after failed attempt `attempt` (1 for the first failure). */
export type Backoff = (attempt: number) => number;

export interface ExponentialBackoffOptions {
  /** The ceiling after the first failure; it doubles with each further one. */
  readonly baseMs: number;
  /** The ceiling never exceeds this. */
  readonly capMs: number;
  /**
   * `full`: anywhere from 0 to the ceiling (spreads out writers racing for one item);
   * `equal`: from half the ceiling to the ceiling (never retries at once).
   */
  readonly jitter: 'full' | 'equal';
}

export function exponentialBackoff(options: ExponentialBackoffOptions, random: () => number = Math.random): Backoff {
  return (attempt) => {
    const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
    return options.jitter === 'full' ? random() * ceiling : ceiling / 2 + random() * (ceiling / 2);
  };
}

export interface RetryOptions {
  /** Attempts in all, the first included; at least 1. */
  readonly attempts: number;
  readonly backoff: Backoff;
  /** Whether a failure is worth another attempt; any other is thrown at once. @default every failure */
  readonly retryable?: (error: unknown) => boolean;
  /** What to throw once every attempt failed. @default the last failure */
  readonly exhausted?: (lastError: unknown) => unknown;
  /** Told of each failure that will be retried, before the pause. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
  /** @default a timer */
  readonly sleep?: Sleep;
}

/** Runs `operation` until it succeeds, a failure is not retryable, or the attempts are used up. */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  if (!Number.isInteger(options.attempts) || options.attempts < 1) {
    throw new RangeError(`retry: attempts must be a positive integer, got ${options.attempts}`);
  }
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!(options.retryable?.(error) ?? true)) throw error;
      if (attempt >= options.attempts) throw options.exhausted ? options.exhausted(error) : error;
      options.onRetry?.(error, attempt);
      await (options.sleep ?? sleep)(options.backoff(attempt));
    }
  }
}

/**
 * Thrown by an operation whose work is only partly done (DynamoDB left items unprocessed), so that
 * `retry` runs it again for the rest. Retryable by `isIncomplete`.
 */
export class IncompleteError extends Error {
  override readonly name = 'IncompleteError';
}

export const isIncomplete = (error: unknown): boolean => error instanceof IncompleteError;
