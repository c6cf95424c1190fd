// The fan-out: a Lambda on the policy table's stream that publishes a snapshot and tells the cells to
// converge through SSM Run Command (lambdas/fanout). Only version records wake it (FilterCriteria);
// a batch becomes one command; failures are retried a bounded number of times, bisected, and finally
// recorded in an encrypted SQS queue so that nothing is dropped silently. An EventBridge schedule
// invokes it as well, to republish a snapshot that a given-up batch left stale.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CELL_PK } from '../core/store/cell-status-store.js';
import { DESTINATION_PK, META_PK, POLICY_PK, SECURITY_GROUP_PK } from '../core/store/items.js';
import { SHARD_PK_PREFIX } from '../core/store/shard-items.js';
import { SHARD_LOG_PK_PREFIX } from '../core/store/shard-log.js';
import { SHARD_POLICIES_PK_PREFIX } from '../core/store/shard-policies.js';
import { SNAPSHOT_PK } from '../core/store/snapshot-store.js';
import {
  everyMinutes,
  REPUBLISH_DEFAULTS,
  RUN_LIMIT_DEFAULTS,
  SCHEDULE_DEFAULTS,
} from '../lambdas/fanout/run-limits.js';
import { VERSION_RECORD_FILTER } from '../lambdas/fanout/stream-filter.js';
import { createBundledFunction } from './bundled-function.js';
import { parseSchedule } from './schedule.js';

export const FANOUT_ENTRY = 'lambdas/fanout/handler.ts';
/** Defaults of the fan-out settings that are also context keys. */
export const FANOUT_DEFAULTS = { republishSchedule: everyMinutes(SCHEDULE_DEFAULTS.republishMinutes) } as const;
/** The partitions the fan-out reads: the version, the policies and destinations, the snapshot pointer, the cells' reports. */
export const FANOUT_READ_PARTITIONS = [
  META_PK,
  POLICY_PK,
  DESTINATION_PK,
  SECURITY_GROUP_PK,
  SNAPSHOT_PK,
  CELL_PK,
] as const;

export interface FanoutProps {
  /** The policy table: its stream wakes the function, its snapshot partition is written. */
  readonly table: ITable;
  /** Name of the SSM document the cells run (CellAgent.documentName). */
  readonly documentName: string;
  /** ARN of that document; the function may send only this document. */
  readonly documentArn: string;
  /** Tag key marking cells; the function may send commands only to instances carrying it. */
  readonly cellTagKey: string;
  /** Value of the cell tag. */
  readonly cellTagValue: string;
  /**
   * SendCommand MaxConcurrency (count or percentage of the tagged cells).
   * @default '50%'
   */
  readonly maxConcurrency?: string;
  /**
   * SendCommand MaxErrors (count or percentage). The default never stops sending: every cell must
   * be told, and each cell's failure is visible in its own command invocation.
   * @default '100%'
   */
  readonly maxErrors?: string;
  /**
   * When an EventBridge rule invokes the function to republish the snapshot if it is missing or
   * stale (a batch given up, or nothing written since the deploy): `rate(N minute(s)|hour(s)|day(s))`
   * or `cron(...)`. A run with a current snapshot and no lagging cell costs three small reads and
   * sends no command.
   * @default 'rate(5 minutes)'
   */
  readonly republishSchedule?: string;
  /**
   * The scheduled republish tells the cells again when a cell that synced within this window
   * reports an older version than the snapshot. Pass CellAgent.liveCellWindow.
   * @default Duration.hours(1)
   */
  readonly liveCellWindow?: Duration;
  /**
   * How long after a snapshot is published its command may still be reaching cells; lagging cells
   * are not told again before. Pass CellAgent.syncTimeout.
   * @default Duration.minutes(5)
   */
  readonly commandGrace?: Duration;
  /**
   * Records per invocation. The handler coalesces a batch into one snapshot and one command, so a
   * large batch costs no more than a small one.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking. Zero: a change is sent as soon as it is on the
   * stream; changes that arrive while an invocation runs are coalesced into the next batch anyway.
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failed batch (each halved by bisection) before it goes to the on-failure queue.
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the on-failure queue instead of being retried; the scheduled
   * resync heals the cells meanwhile.
   * @default Duration.hours(1)
   */
  readonly maxRecordAge?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Where the handler entry and package-lock.json are resolved from.
   * @default PROJECT_ROOT (this repository)
   */
  readonly projectRoot?: string;
}

export class Fanout extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;
  /** Where batches that kept failing are recorded (stream coordinates, not the records). */
  readonly onFailureQueue: Queue;
  readonly eventSource: DynamoEventSource;
  /** The schedule that republishes a stale snapshot. */
  readonly republishRule: Rule;

  constructor(scope: Construct, id: string, props: FanoutProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? 100;
    const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(0);
    const retryAttempts = props.retryAttempts ?? 5;
    const maxRecordAge = props.maxRecordAge ?? Duration.hours(1);
    const republishSchedule = props.republishSchedule ?? FANOUT_DEFAULTS.republishSchedule;
    validateRepublishSchedule(republishSchedule);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      throw new Error(`Fanout: batchSize must be an integer from 1 to 10000, got ${batchSize}`);
    }
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 10) {
      // The mapping allows up to 10000; more than a few only delays the queue and blocks the shard.
      throw new Error(`Fanout: retryAttempts must be an integer from 0 to 10, got ${retryAttempts}`);
    }
    if (maxBatchingWindow.toSeconds() > 5) {
      throw new Error(
        `Fanout: maxBatchingWindow above 5 seconds breaks the enforcement-within-seconds promise, got ${maxBatchingWindow.toHumanString()}`,
      );
    }

    const parts = createBundledFunction(this, 'Fanout', {
      entry: FANOUT_ENTRY,
      description: 'dynamic-egress fan-out: policy table stream -> snapshot -> SSM Run Command to the cells',
      environment: {
        TABLE_NAME: props.table.tableName,
        SYNC_DOCUMENT_NAME: props.documentName,
        CELL_TAG_KEY: props.cellTagKey,
        CELL_TAG_VALUE: props.cellTagValue,
        MAX_CONCURRENCY: props.maxConcurrency ?? RUN_LIMIT_DEFAULTS.maxConcurrency,
        MAX_ERRORS: props.maxErrors ?? RUN_LIMIT_DEFAULTS.maxErrors,
        LIVE_CELL_WINDOW_SECONDS: String(
          (props.liveCellWindow ?? Duration.millis(REPUBLISH_DEFAULTS.liveCellWindowMs)).toSeconds(),
        ),
        COMMAND_GRACE_SECONDS: String(
          (props.commandGrace ?? Duration.millis(REPUBLISH_DEFAULTS.commandGraceMs)).toSeconds(),
        ),
      },
      logRetention: props.logRetention,
      // Snapshot reads and writes plus SendCommand with its own throttling backoff (6 attempts).
      timeout: Duration.minutes(1),
      projectRoot: props.projectRoot,
    });
    this.function = parts.function;
    this.logGroup = parts.logGroup;
    this.role = parts.role;

    const tableArn = props.table.tableArn;
    const leadingKeys = (keys: readonly string[]) => ({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...keys] },
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadPolicies',
        effect: Effect.ALLOW,
        // BatchGetItem: destinations by id, for a publish of described changes.
        actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
        resources: [tableArn],
        conditions: leadingKeys(FANOUT_READ_PARTITIONS),
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteSnapshots',
        effect: Effect.ALLOW,
        // Chunks and the pointer are Puts; pruning deletes old chunks 25 at a time with BatchWriteItem;
        // the publishing lease (core/store/shard-items.ts) is updated and deleted.
        actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [tableArn],
        conditions: leadingKeys([SNAPSHOT_PK]),
      }),
    );
    // Listing every stored shard (keys only) when a publish cannot tell which exist: a new epoch, or
    // a holder of the publishing lease that died writing all of them. Scan has no partition key to
    // condition on; the role reads the policy partitions anyway.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ListSourceShards',
        effect: Effect.ALLOW,
        actions: ['dynamodb:Scan'],
        resources: [tableArn],
      }),
    );
    // Source shards, their change log and the fan-out's policy list of each: one partition each, so
    // matched by prefix. Read back (BatchGetItem) to publish described changes, which rewrite only
    // the shards they touch, and for the change entries of the cells to tell.
    const shardPartitions = {
      'ForAllValues:StringLike': {
        'dynamodb:LeadingKeys': [`${SHARD_PK_PREFIX}*`, `${SHARD_LOG_PK_PREFIX}*`, `${SHARD_POLICIES_PK_PREFIX}*`],
      },
    };
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteSourceShards',
        effect: Effect.ALLOW,
        actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
        resources: [tableArn],
        conditions: shardPartitions,
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadSourceShards',
        effect: Effect.ALLOW,
        actions: ['dynamodb:BatchGetItem'],
        resources: [tableArn],
        conditions: shardPartitions,
      }),
    );
    // The table's identity (its TableId) is the epoch stamped on snapshot pointers, so that cells
    // take a restored or recreated table's state although its versions went back.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadTableIdentity',
        effect: Effect.ALLOW,
        actions: ['dynamodb:DescribeTable'],
        resources: [tableArn],
      }),
    );
    // SendCommand is authorized on the document and on every target instance: the document is this
    // one, and an instance is allowed only while it carries the cell tag.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SendSyncDocument',
        effect: Effect.ALLOW,
        actions: ['ssm:SendCommand'],
        resources: [props.documentArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SendToCells',
        effect: Effect.ALLOW,
        actions: ['ssm:SendCommand'],
        resources: [Stack.of(this).formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
        conditions: { StringEquals: { [`ssm:resourceTag/${props.cellTagKey}`]: props.cellTagValue } },
      }),
    );

    this.onFailureQueue = new Queue(this, 'OnFailure', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.eventSource = new DynamoEventSource(props.table, {
      startingPosition: StartingPosition.LATEST,
      batchSize,
      maxBatchingWindow: maxBatchingWindow.toSeconds() > 0 ? maxBatchingWindow : undefined,
      // The handler fails a batch by throwing (so the Errors alarm counts it); these bound what follows.
      bisectBatchOnError: true,
      retryAttempts,
      maxRecordAge,
      // Versions must not overtake each other; one batch per shard at a time.
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.onFailureQueue),
      filters: [FilterCriteria.filter(VERSION_RECORD_FILTER)],
    });
    this.function.addEventSource(this.eventSource);

    // The mapping starts at LATEST and gives a batch up after its retries, so without this a failed
    // publish would leave the snapshot stale until the next policy write. The handler tells scheduled
    // events from stream batches by their shape.
    this.republishRule = new Rule(this, 'Republish', {
      description: 'dynamic-egress: republish the policy snapshot if it is missing or stale',
      schedule: Schedule.expression(republishSchedule),
      targets: [new LambdaFunction(this.function)],
    });

    // Each acknowledgement names the exact finding (cdk-nag v3 ids carry the resource), on this role
    // or queue only.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      reason:
        'SendCommand targets cells by tag, so the instances are not known at deploy time; the statement is limited to this account and region and to instances carrying the cell tag (ssm:resourceTag condition), and the document is limited to the sync document by a separate statement.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only dynamodb:ListStreams, added by the DynamoDB event source: that action has no resource-level permissions (IAM service authorization reference), and it lists stream ARNs, no data. Reading records (GetRecords, GetShardIterator, DescribeStream) is limited to this table stream.',
    });
    Validations.of(this.onFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the end of the line: the on-failure destination of the stream mapping. Its messages are stream coordinates an operator inspects and redrives by hand (docs/deploy.md), and the not-empty alarm pages on the first one; a further DLQ would only hide them.',
    });
  }
}

/** EventBridge schedule expressions: `rate(1 minute)`, `rate(N minutes)` (N > 1), likewise hours and days, or `cron(...)`. */
export function validateRepublishSchedule(schedule: string): void {
  const parsed = parseSchedule(schedule);
  // EventBridge wants the singular unit for 1 and the plural for more.
  if (parsed?.kind === 'cron' || (parsed?.kind === 'rate' && parsed.unitAgrees)) return;
  throw new Error(
    `Fanout: republishSchedule must be rate(1 minute), rate(N minutes|hours|days) or cron(...), got ${JSON.stringify(schedule)}`,
  );
}
