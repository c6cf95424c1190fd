// Local mode's event-source mapping: polls DynamoDB Local's stream and invokes the fan-out handler
// with the same event Lambda would build, with Lambda's semantics: filter first, batches in shard
// order, ReportBatchItemFailures (retry from the first failed record), bisect on error, bounded
// retries, and an on-failure destination for what never succeeds.
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { backoffMs, sleep } from '../../core/store/dynamodb-io.js';

export interface StreamReaderOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  /** Records that do not match are dropped before the handler, as FilterCriteria do. */
  readonly filter: (record: DynamoDBRecord) => boolean;
  /** Gets what exhausted its retries. */
  readonly onFailure: (records: readonly DynamoDBRecord[], reason: string) => Promise<void>;
  /** @default 100 */
  readonly batchSize?: number;
  /** Retries of a failing batch before it goes to onFailure. @default 3 */
  readonly maxRetries?: number;
  /** @default true */
  readonly bisectOnError?: boolean;
  /** Pause between empty polls. @default 50 */
  readonly pollIntervalMs?: number;
  /** Pause between retries; injectable for tests. */
  readonly retryDelay?: (attempt: number) => Promise<void>;
}

interface Shard {
  readonly id: string;
  iterator: string | undefined;
  /** Sequence number of the last record handed on, to resume after an iterator is lost. */
  lastSequence: string | undefined;
}

/** Errors after which a shard iterator is useless and must be fetched again. */
const LOST_ITERATOR = new Set(['ExpiredIteratorException', 'TrimmedDataAccessException']);

function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const { ApproximateCreationDateTime, ...dynamodb } = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? 'local',
    eventSourceARN: streamArn,
    dynamodb: {
      ...(dynamodb as NonNullable<DynamoDBRecord['dynamodb']>),
      ...(ApproximateCreationDateTime
        ? { ApproximateCreationDateTime: ApproximateCreationDateTime.getTime() / 1000 }
        : {}),
    },
  } as DynamoDBRecord;
}

export class LocalStreamReader {
  private readonly shards = new Map<string, Shard>();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: StreamReaderOptions) {}

  /** Starts reading at the stream's tip: changes made from now on. */
  async start(): Promise<void> {
    await this.discoverShards('LATEST');
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
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
            if (wanted.length > 0) await this.deliver(wanted, this.options.maxRetries ?? 3);
          }
        } catch (error) {
          if (!this.running) return;
          if (LOST_ITERATOR.has((error as { name?: string }).name ?? '')) {
            await this.resume(shard).catch(() => undefined);
            continue;
          }
          console.error(`stream reader: ${error instanceof Error ? error.message : String(error)}`);
          await sleep(500);
        }
      }
      if (Date.now() - lastDiscovery > 5_000 || [...this.shards.values()].every((shard) => !shard.iterator)) {
        lastDiscovery = Date.now();
        await this.discoverShards('TRIM_HORIZON').catch(() => undefined);
      }
      if (!sawRecords) await sleep(this.options.pollIntervalMs ?? 50);
    }
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
        if ((error as { name?: string }).name !== 'TrimmedDataAccessException') throw error;
      }
    }
    const { ShardIterator } = await this.options.client.send(
      new GetShardIteratorCommand({ ...request, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    shard.iterator = ShardIterator;
  }

  /** Invokes the handler until the batch succeeds, bisecting failing batches, then gives up to onFailure. */
  async deliver(records: readonly DynamoDBRecord[], retriesLeft: number, attempt = 0): Promise<void> {
    let pending = [...records];
    let reason = '';
    try {
      const response = await this.options.handler({ Records: pending });
      const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      if (failed.size === 0) return;
      const firstFailed = pending.findIndex((record) => failed.has(record.dynamodb?.SequenceNumber ?? ''));
      pending = firstFailed < 0 ? pending : pending.slice(firstFailed);
      reason = 'the handler reported batch item failures';
    } catch (error) {
      reason = `the handler threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (retriesLeft <= 0) {
      await this.options.onFailure(pending, `${reason}; retries exhausted`);
      return;
    }
    await (this.options.retryDelay ?? ((n: number) => sleep(backoffMs(n + 1))))(attempt);
    if ((this.options.bisectOnError ?? true) && pending.length > 1) {
      const middle = Math.ceil(pending.length / 2);
      await this.deliver(pending.slice(0, middle), retriesLeft - 1, attempt + 1);
      await this.deliver(pending.slice(middle), retriesLeft - 1, attempt + 1);
      return;
    }
    await this.deliver(pending, retriesLeft - 1, attempt + 1);
  }
}
