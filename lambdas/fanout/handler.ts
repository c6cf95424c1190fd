// The Lambda entry of the fan-out. Configuration comes from the stack through the environment.
// Two event sources invoke it: the table's stream (lambdas/fanout/fanout.ts) and an EventBridge
// schedule that republishes a stale snapshot (lambdas/fanout/republish.ts).
import { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { DynamoDbSnapshotStore } from '../../core/store/snapshot-store.js';
import { documentClient } from '../../core/store/table-stores.js';
import { dynamoDbFromEnvironment, requiredEnv, storesFromEnvironment } from '../shared/environment.js';
import { createFanoutHandler, type FanoutHandler } from './fanout.js';
import { createRepublishHandler, isScheduledEvent, type RepublishHandler, type RepublishResult } from './republish.js';
import { RUN_LIMIT_DEFAULTS } from './run-limits.js';
import { SsmCommander } from './ssm-commander.js';

export type FanoutEvent = DynamoDBStreamEvent | ScheduledEvent;
export type FanoutLambdaHandler = (event: FanoutEvent) => Promise<DynamoDBBatchResponse | RepublishResult>;

export interface FanoutHandlers {
  readonly stream: FanoutHandler;
  readonly republish: RepublishHandler;
}

/** Routes each event to its handler by shape; anything else is an error, not a silent no-op. */
export function createLambdaHandler(handlers: () => FanoutHandlers): FanoutLambdaHandler {
  return async (event) => {
    if (isScheduledEvent(event)) return handlers().republish(event);
    if (Array.isArray((event as Partial<DynamoDBStreamEvent>).Records)) return handlers().stream(event);
    throw new Error('fan-out: neither a DynamoDB stream event nor a scheduled event');
  };
}

function secondsFromEnvironment(name: string): number {
  const seconds = Number(requiredEnv(name));
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`${name} must be a positive whole number of seconds`);
  return seconds;
}

/** Built on first use, once per Lambda container. */
function handlersFromEnvironment(): FanoutHandlers {
  const { policies, cells } = storesFromEnvironment();
  const deps = {
    policies,
    snapshots: new DynamoDbSnapshotStore(documentClient(dynamoDbFromEnvironment()), requiredEnv('TABLE_NAME')),
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
  };
  return { stream: createFanoutHandler(deps), republish: createRepublishHandler(deps) };
}

let handlers: FanoutHandlers | undefined;

export const handler: FanoutLambdaHandler = createLambdaHandler(() => {
  handlers ??= handlersFromEnvironment();
  return handlers;
});
