// What the event-source mapping does with a batch, as the stack configures it (lib/fanout.ts): the
// handler fails a batch by throwing (it reports no item failures), so a failing batch is retried
// whole, split in two after each failure (bisect on error), retried a bounded number of times, and
// what still fails goes to the on-failure destination.
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type Backoff, exponentialBackoff, retry, type Sleep, sleep as timerSleep } from '../../core/retry.js';

/** Waits of 20–40 ms after a batch's first failure, doubling up to 0.5–1 s. */
export const BATCH_RETRY_BACKOFF = { baseMs: 40, capMs: 1_000, jitter: 'equal' } as const;

export interface BatchDeliveryOptions {
  /** Fails the batch by rejecting; it answers nothing, since the mapping asks for no item failures. */
  readonly handler: (event: DynamoDBStreamEvent) => Promise<void>;
  /** Gets what exhausted its retries (the on-failure destination). */
  readonly onFailure: (records: readonly DynamoDBRecord[], reason: string) => Promise<void>;
  /** Retries of a failing batch before it goes to onFailure. @default 3 */
  readonly maxRetries?: number;
  /** @default true */
  readonly bisectOnError?: boolean;
  /** @default exponentialBackoff(BATCH_RETRY_BACKOFF) */
  readonly backoff?: Backoff;
  /** For tests. @default a timer */
  readonly sleep?: Sleep;
}

/** Hands a batch to the handler until it succeeds or its retries are used up; never rejects for the handler's sake. */
export type BatchDelivery = (records: readonly DynamoDBRecord[]) => Promise<void>;

export function createBatchDelivery(options: BatchDeliveryOptions): BatchDelivery {
  const bisectOnError = options.bisectOnError ?? true;
  const backoff = options.backoff ?? exponentialBackoff(BATCH_RETRY_BACKOFF);
  const sleep = options.sleep ?? timerSleep;

  /** `failures`: failed attempts on the way to this (part of a) batch; the backoff grows with them. */
  const deliver = async (records: readonly DynamoDBRecord[], retriesLeft: number, failures: number): Promise<void> => {
    const splittable = bisectOnError && records.length > 1;
    try {
      // A batch that cannot be split is retried whole, here; one that can is split after one failure.
      await retry(() => options.handler({ Records: [...records] }), {
        attempts: splittable ? 1 : retriesLeft + 1,
        backoff: (attempt) => backoff(failures + attempt),
        sleep,
      });
      return;
    } catch (error) {
      if (!splittable || retriesLeft === 0) {
        const message = error instanceof Error ? error.message : String(error);
        await options.onFailure(records, `the handler threw: ${message}; retries exhausted`);
        return;
      }
    }
    await sleep(backoff(failures + 1));
    const middle = Math.ceil(records.length / 2);
    await deliver(records.slice(0, middle), retriesLeft - 1, failures + 1);
    await deliver(records.slice(middle), retriesLeft - 1, failures + 1);
  };

  return (records) => deliver(records, options.maxRetries ?? 3, 0);
}
