// Local mode's event-source mapping: polls DynamoDB Local's stream and invokes the fan-out handler
// with the same event Lambda would build, with the mapping's settings (lib/fanout.ts): filter first,
// batches in shard order, and a failing batch retried whole, bisected, a bounded number of times,
// then handed to an on-failure destination (batch-delivery.ts).
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { jsonLineLog, type Log } from '../../core/log.js';
import { sleep } from '../../core/retry.js';
import { LOCAL_SERVICE } from '../local-service.js';
import { type BatchDelivery, type BatchDeliveryOptions, createBatchDelivery } from './batch-delivery.js';
import { toLambdaRecord } from './lambda-record.js';

export interface StreamReaderOptions extends BatchDeliveryOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** Records that do not match are dropped before the handler, as FilterCriteria do. */
  readonly filter: (record: DynamoDBRecord) => boolean;
  /** @default 100 */
  readonly batchSize?: number;
  /** Pause between empty polls. @default 50 */
  readonly pollIntervalMs?: number;
  /** @default JSON lines of local mode */
  readonly log?: Log;
}

interface Shard {
  readonly id: string;
  iterator: string | undefined;
  /** Sequence number of the last record handed on, to resume after an iterator is lost. */
  lastSequence: string | undefined;
}

/** Errors after which a shard iterator is useless and must be fetched again. */
const LOST_ITERATOR = new Set(['ExpiredIteratorException', 'TrimmedDataAccessException']);
/** Pause after a failed poll, before the next. */
const POLL_ERROR_PAUSE_MS = 500;
/** After a wake-up: polls this far apart until records show or this long has passed. */
const WOKEN_POLL_MS = 5;
const WOKEN_FOR_MS = 500;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

export class LocalStreamReader {
  private readonly shards = new Map<string, Shard>();
  private readonly deliver: BatchDelivery;
  private readonly log: Log;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Ends the current pause between polls early (wake). */
  private endPause: (() => void) | undefined;
  /** Until when (epoch ms) the pauses are short, after a wake-up. */
  private wokenUntil = 0;

  constructor(private readonly options: StreamReaderOptions) {
    this.deliver = createBatchDelivery(options);
    this.log = options.log ?? jsonLineLog({ service: LOCAL_SERVICE });
  }

  /** Starts reading at the stream's tip: changes made from now on. */
  async start(): Promise<void> {
    await this.discoverShards('LATEST');
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.endPause?.();
    await this.loop;
  }

  private async discoverShards(position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    let exclusiveStart: string | undefined;
    do {
      const description = await this.options.client.send(
        new DescribeStreamCommand({ StreamArn: this.options.streamArn, ExclusiveStartShardId: exclusiveStart }),
      );
      for (const shard of description.StreamDescription?.Shards ?? []) {
        const id = shard.ShardId;
        if (!id || this.shards.has(id)) continue;
        // Closed shards found at start were read before we came; new ones are read from their beginning.
        if (position === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber) {
          this.shards.set(id, { id, iterator: undefined, lastSequence: undefined });
          continue;
        }
        const { ShardIterator } = await this.options.client.send(
          new GetShardIteratorCommand({ StreamArn: this.options.streamArn, ShardId: id, ShardIteratorType: position }),
        );
        this.shards.set(id, { id, iterator: ShardIterator, lastSequence: undefined });
      }
      exclusiveStart = description.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStart);
  }

  private async run(): Promise<void> {
    let lastDiscovery = Date.now();
    while (this.running) {
      let sawRecords = false;
      for (const shard of this.shards.values()) {
        if (!shard.iterator) continue;
        try {
          const page = await this.options.client.send(
            new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.options.batchSize ?? 100 }),
          );
          shard.iterator = page.NextShardIterator;
          const records = (page.Records ?? []).map((record) => toLambdaRecord(record, this.options.streamArn));
          if (records.length > 0) {
            sawRecords = true;
            shard.lastSequence = records.at(-1)?.dynamodb?.SequenceNumber ?? shard.lastSequence;
            const wanted = records.filter(this.options.filter);
            if (wanted.length > 0) await this.deliver(wanted);
          }
        } catch (error) {
          if (!this.running) return;
          if (LOST_ITERATOR.has(errorName(error))) {
            await this.resume(shard).catch(() => undefined);
            continue;
          }
          this.log.error('stream reader: reading the stream failed; polling again', { shard: shard.id, error });
          await sleep(POLL_ERROR_PAUSE_MS);
        }
      }
      if (Date.now() - lastDiscovery > 5_000 || [...this.shards.values()].every((shard) => !shard.iterator)) {
        lastDiscovery = Date.now();
        await this.discoverShards('TRIM_HORIZON').catch(() => undefined);
      }
      if (sawRecords) {
        this.wokenUntil = 0;
        continue;
      }
      // Woken by a write: poll again soon until its record shows (a stream may lag the write).
      const woken = Date.now() < this.wokenUntil;
      await this.pause(woken ? WOKEN_POLL_MS : (this.options.pollIntervalMs ?? 50));
    }
  }

  /**
   * A write just landed (local mode's API answered one): poll now rather than at the end of the
   * pause, which otherwise adds up to a whole poll interval to every change's propagation.
   */
  wake(): void {
    this.wokenUntil = Date.now() + WOKEN_FOR_MS;
    this.endPause?.();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // Stopped meanwhile (stop() found no pause to end): no pause at all.
      if (!this.running) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      this.endPause = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** A new iterator just after the last record handed on, or from the oldest record still there. */
  private async resume(shard: Shard): Promise<void> {
    const request = { StreamArn: this.options.streamArn, ShardId: shard.id };
    if (shard.lastSequence) {
      try {
        const { ShardIterator } = await this.options.client.send(
          new GetShardIteratorCommand({
            ...request,
            ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
            SequenceNumber: shard.lastSequence,
          }),
        );
        shard.iterator = ShardIterator;
        return;
      } catch (error) {
        if (errorName(error) !== 'TrimmedDataAccessException') throw error;
      }
    }
    const { ShardIterator } = await this.options.client.send(
      new GetShardIteratorCommand({ ...request, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    shard.iterator = ShardIterator;
  }
}
