// The Lambda entry of the fan-out. Configuration comes from the stack through the environment.
// Two event sources invoke it: the table's stream (lambdas/fanout/fanout.ts) and an EventBridge
// schedule that republishes a stale snapshot (lambdas/fanout/republish.ts).
import { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { shardedSnapshotStore } from '../../core/store/sharded-snapshot-store.js';
import { documentClient } from '../../core/store/table-stores.js';
import { dynamoDbFromEnvironment, requiredEnv } from '../shared/environment.js';
import { lambdaLog } from '../shared/logging.js';
import { metrics, publishMetrics } from '../shared/metrics.js';
import { policyStoresFromEnvironment } from '../shared/policy-stores-environment.js';
import { securityGroupStoresFromEnvironment } from '../shared/security-group-stores-environment.js';
import { cloudWatchFanoutMetrics } from './cloudwatch-metrics.js';
import { createFanoutHandlers, type FanoutHandlers } from './fanout-handlers.js';
import { isScheduledEvent, type RepublishResult } from './republish.js';
import { RUN_LIMIT_DEFAULTS } from './run-limits.js';
import { publishedStateOf } from './snapshot-publisher.js';
import { SsmCommander } from './ssm-commander.js';

/**
 * Whatever Lambda hands over is checked by shape before use. A stream batch answers nothing (the
 * mapping does not ask for item failures); a scheduled run answers what it did, for a manual invoke.
 */
export type FanoutLambdaHandler = (event: unknown) => Promise<RepublishResult | undefined>;

function isStreamEvent(event: unknown): event is DynamoDBStreamEvent {
  return typeof event === 'object' && event !== null && 'Records' in event && Array.isArray(event.Records);
}

/**
 * Routes each event to its handler by shape; anything else is an error, not a silent no-op.
 * `afterInvocation` runs once per invocation, failed or not (the Lambda publishes its metrics there).
 */
export function createLambdaHandler(
  handlers: () => FanoutHandlers,
  afterInvocation: () => void = () => undefined,
): FanoutLambdaHandler {
  return async (event) => {
    try {
      if (isScheduledEvent(event)) return await handlers().republish(event);
      if (isStreamEvent(event)) {
        await handlers().stream(event);
        return undefined;
      }
      throw new Error('fan-out: neither a DynamoDB stream event nor a scheduled event');
    } finally {
      afterInvocation();
    }
  };
}

function secondsFromEnvironment(name: string): number {
  const seconds = Number(requiredEnv(name));
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`${name} must be a positive whole number of seconds`);
  return seconds;
}

/** Built on first use, once per Lambda container. */
function handlersFromEnvironment(): FanoutHandlers {
  const stores = { ...policyStoresFromEnvironment(), ...securityGroupStoresFromEnvironment() };
  const { cells } = stores;
  return createFanoutHandlers({
    policies: publishedStateOf(stores),
    snapshots: shardedSnapshotStore(documentClient(dynamoDbFromEnvironment()), requiredEnv('TABLE_NAME'), {
      log: lambdaLog,
    }),
    cells,
    liveCellWindowMs: secondsFromEnvironment('LIVE_CELL_WINDOW_SECONDS') * 1000,
    commandGraceMs: secondsFromEnvironment('COMMAND_GRACE_SECONDS') * 1000,
    // Our own backoff handles throttling; the client's retries would multiply it.
    commander: new SsmCommander({
      client: new SSMClient({ maxAttempts: 1 }),
      documentName: requiredEnv('SYNC_DOCUMENT_NAME'),
      tagKey: requiredEnv('CELL_TAG_KEY'),
      tagValue: requiredEnv('CELL_TAG_VALUE'),
      maxConcurrency: process.env.MAX_CONCURRENCY ?? RUN_LIMIT_DEFAULTS.maxConcurrency,
      maxErrors: process.env.MAX_ERRORS ?? RUN_LIMIT_DEFAULTS.maxErrors,
    }),
    log: lambdaLog,
    metrics: cloudWatchFanoutMetrics(metrics),
  });
}

let handlers: FanoutHandlers | undefined;

export const handler: FanoutLambdaHandler = createLambdaHandler(() => {
  handlers ??= handlersFromEnvironment();
  return handlers;
}, publishMetrics);
