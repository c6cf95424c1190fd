// The one retry loop: how many attempts, which failures are retried, what is thrown at the end,
// and how long it pauses. Sleep is injected: nothing here waits.
import { describe, expect, it } from 'vitest';
import { exponentialBackoff, IncompleteError, isIncomplete, retry } from '../../core/retry.js';

class Flaky extends Error {}
class Fatal extends Error {}

/** An operation failing with `Flaky` until attempt `succeedOn` (never when undefined). */
function operation(succeedOn?: number) {
  const attempts: number[] = [];
  const run = async (attempt: number): Promise<string> => {
    attempts.push(attempt);
    if (attempt === succeedOn) return `done on ${attempt}`;
    throw new Flaky(`attempt ${attempt}`);
  };
  return { attempts, run };
}

function recordingSleep() {
  const pauses: number[] = [];
  return {
    pauses,
    sleep: async (ms: number): Promise<void> => {
      pauses.push(ms);
    },
  };
}

const constant = () => 7;

describe('retry', () => {
  it('returns the first success, numbering attempts from 1 and pausing between them', async () => {
    const { attempts, run } = operation(3);
    const { pauses, sleep } = recordingSleep();
    const seen: number[] = [];
    const result = await retry(run, {
      attempts: 5,
      backoff: (attempt) => attempt * 10,
      onRetry: (_error, attempt) => seen.push(attempt),
      sleep,
    });
    expect(result).toBe('done on 3');
    expect(attempts).toEqual([1, 2, 3]);
    expect(seen).toEqual([1, 2]);
    // backoff is told how many attempts failed so far.
    expect(pauses).toEqual([10, 20]);
  });

  it('makes exactly `attempts` attempts, then throws the last failure', async () => {
    const { attempts, run } = operation();
    const { pauses, sleep } = recordingSleep();
    const error = await retry(run, { attempts: 4, backoff: constant, sleep }).catch((e: unknown) => e);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(error).toBeInstanceOf(Flaky);
    expect(error).toMatchObject({ message: 'attempt 4' });
    // No pause after the last attempt: nothing follows it.
    expect(pauses).toHaveLength(3);
  });

  it('makes one attempt when attempts is 1', async () => {
    const { attempts, run } = operation();
    await expect(retry(run, { attempts: 1, backoff: constant, sleep: recordingSleep().sleep })).rejects.toThrow(Flaky);
    expect(attempts).toEqual([1]);
  });

  it('throws a failure that is not retryable at once, without pausing', async () => {
    const { pauses, sleep } = recordingSleep();
    let calls = 0;
    const error = await retry(
      async () => {
        calls += 1;
        throw calls === 1 ? new Flaky('first') : new Fatal('second');
      },
      { attempts: 10, backoff: constant, retryable: (e) => e instanceof Flaky, sleep },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Fatal);
    expect(calls).toBe(2);
    expect(pauses).toEqual([7]);
  });

  it('maps the last failure with `exhausted`, and only when every attempt failed', async () => {
    const { run } = operation();
    const exhausted = (last: unknown) =>
      new Fatal(`gave up after ${last instanceof Error ? last.message : 'nothing'}`, { cause: last });
    const error = await retry(run, { attempts: 3, backoff: constant, exhausted, sleep: recordingSleep().sleep }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Fatal);
    expect(error).toMatchObject({ message: 'gave up after attempt 3', cause: expect.any(Flaky) });

    // A failure that is not retryable is thrown as it is, not mapped.
    const notRetried = await retry(
      async () => {
        throw new Flaky('not retried');
      },
      { attempts: 3, backoff: constant, retryable: () => false, exhausted, sleep: recordingSleep().sleep },
    ).catch((e: unknown) => e);
    expect(notRetried).toBeInstanceOf(Flaky);
  });

  it('retries IncompleteError with isIncomplete, and nothing else', async () => {
    expect(isIncomplete(new IncompleteError('2 left'))).toBe(true);
    expect(isIncomplete(new Error('other'))).toBe(false);
    let left = 3;
    const result = await retry(
      async () => {
        left -= 1;
        if (left > 0) throw new IncompleteError(`${left} left`);
        return 'all done';
      },
      { attempts: 5, backoff: constant, retryable: isIncomplete, sleep: recordingSleep().sleep },
    );
    expect(result).toBe('all done');
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses %s attempts before running anything', async (attempts) => {
    const { attempts: made, run } = operation(1);
    await expect(retry(run, { attempts, backoff: constant })).rejects.toThrow(RangeError);
    expect(made).toEqual([]);
  });
});

describe('exponentialBackoff', () => {
  // The ceiling: baseMs after the first failure, doubling with each further one, never above capMs.
  const options = { baseMs: 20, capMs: 250 } as const;
  const ceilings = [20, 40, 80, 160, 250, 250, 250];

  it('full jitter: from 0 up to the ceiling', () => {
    const lowest = exponentialBackoff({ ...options, jitter: 'full' }, () => 0);
    const highest = exponentialBackoff({ ...options, jitter: 'full' }, () => 0.999_999);
    const middle = exponentialBackoff({ ...options, jitter: 'full' }, () => 0.5);
    ceilings.forEach((ceiling, index) => {
      const attempt = index + 1;
      expect(lowest(attempt)).toBe(0);
      expect(highest(attempt)).toBeLessThan(ceiling);
      expect(highest(attempt)).toBeCloseTo(ceiling, 3);
      expect(middle(attempt)).toBe(ceiling / 2);
    });
  });

  it('equal jitter: from half the ceiling up to the ceiling, never at once', () => {
    const lowest = exponentialBackoff({ ...options, jitter: 'equal' }, () => 0);
    const highest = exponentialBackoff({ ...options, jitter: 'equal' }, () => 0.999_999);
    ceilings.forEach((ceiling, index) => {
      const attempt = index + 1;
      expect(lowest(attempt)).toBe(ceiling / 2);
      expect(highest(attempt)).toBeLessThan(ceiling);
      expect(highest(attempt)).toBeCloseTo(ceiling, 3);
    });
  });

  it('stays within bounds with the real random source', () => {
    const full = exponentialBackoff({ ...options, jitter: 'full' });
    const equal = exponentialBackoff({ ...options, jitter: 'equal' });
    for (let attempt = 1; attempt <= 30; attempt += 1) {
      const ceiling = Math.min(250, 20 * 2 ** (attempt - 1));
      expect(full(attempt)).toBeGreaterThanOrEqual(0);
      expect(full(attempt)).toBeLessThanOrEqual(ceiling);
      expect(equal(attempt)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(equal(attempt)).toBeLessThanOrEqual(ceiling);
    }
  });

  it('treats attempt 0 like the first failure instead of going below baseMs', () => {
    expect(exponentialBackoff({ ...options, jitter: 'full' }, () => 0.5)(0)).toBe(10);
  });
});
