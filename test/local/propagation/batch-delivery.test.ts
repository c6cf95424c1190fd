// Local mode's copy of the mapping's error handling: the whole batch is retried (the handler reports
// no item failures), split on failure, retried a bounded number of times, then handed on.
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from '../../../core/retry.js';
import { BATCH_RETRY_BACKOFF, createBatchDelivery } from '../../../local/propagation/batch-delivery.js';

const record = (sequence: string): DynamoDBRecord => ({ eventName: 'MODIFY', dynamodb: { SequenceNumber: sequence } });
const sequences = (records: readonly DynamoDBRecord[]) => records.map((r) => r.dynamodb?.SequenceNumber);

function harness(options: { failures: number; maxRetries?: number; bisectOnError?: boolean }) {
  const calls: (string | undefined)[][] = [];
  const failed: { records: (string | undefined)[]; reason: string }[] = [];
  const waits: number[] = [];
  let failuresLeft = options.failures;
  const deliver = createBatchDelivery({
    handler: async (event) => {
      calls.push(sequences(event.Records));
      if (failuresLeft-- > 0) throw new Error('SSM said no');
    },
    onFailure: async (records, reason) => {
      failed.push({ records: sequences(records), reason });
    },
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.bisectOnError === undefined ? {} : { bisectOnError: options.bisectOnError }),
    backoff: (attempt) => attempt,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { deliver, calls, failed, waits };
}

describe('createBatchDelivery', () => {
  it('retries the whole batch, not from some record on, when bisecting is off', async () => {
    const { deliver, calls, failed, waits } = harness({ failures: 2, bisectOnError: false });
    await deliver([record('1'), record('2'), record('3')]);
    expect(calls).toEqual([
      ['1', '2', '3'],
      ['1', '2', '3'],
      ['1', '2', '3'],
    ]);
    expect(failed).toEqual([]);
    expect(waits).toEqual([1, 2]);
  });

  it('splits a failing batch in two and retries each half', async () => {
    const { deliver, calls, failed } = harness({ failures: 1 });
    await deliver([record('1'), record('2'), record('3')]);
    expect(calls).toEqual([['1', '2', '3'], ['1', '2'], ['3']]);
    expect(failed).toEqual([]);
  });

  it('hands each part that used up its retries (3 by default) to onFailure', async () => {
    const { deliver, calls, failed, waits } = harness({ failures: Number.POSITIVE_INFINITY });
    await deliver([record('1'), record('2')]);
    // [1,2] fails and is split; each single record is then retried until its retries are gone.
    expect(calls).toEqual([['1', '2'], ['1'], ['1'], ['1'], ['2'], ['2'], ['2']]);
    expect(failed).toEqual([
      { records: ['1'], reason: 'the handler threw: SSM said no; retries exhausted' },
      { records: ['2'], reason: 'the handler threw: SSM said no; retries exhausted' },
    ]);
    // The backoff grows with the failures on the way: one before the split, then one per retry.
    expect(waits).toEqual([1, 2, 3, 2, 3]);
  });

  it('gives a record that cannot be split exactly maxRetries retries', async () => {
    const { deliver, calls, failed } = harness({ failures: Number.POSITIVE_INFINITY, maxRetries: 5 });
    await deliver([record('1')]);
    expect(calls).toHaveLength(6);
    expect(failed).toHaveLength(1);
  });

  it('waits as the store helper did by default: 20–40 ms after the first failure, doubling to 0.5–1 s', () => {
    const low = exponentialBackoff(BATCH_RETRY_BACKOFF, () => 0);
    const high = exponentialBackoff(BATCH_RETRY_BACKOFF, () => 1);
    expect([1, 2, 5, 6].map((attempt) => [low(attempt), high(attempt)])).toEqual([
      [20, 40],
      [40, 80],
      [320, 640],
      [500, 1000],
    ]);
  });
});
