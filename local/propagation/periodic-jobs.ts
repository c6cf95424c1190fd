// Local mode's two periodic jobs, the two AWS runs:
// - republish: the EventBridge rule (lib/fanout.ts, `republishSchedule`) invokes the fan-out with a
//   scheduled event, and the fan-out republishes a missing or stale snapshot; here a timer invokes
//   the same republish handler with an event of the same shape.
// - resync: the State Manager association (lib/cell-agent.ts, `resyncSchedule`) runs a full sync on
//   every cell (MinVersion 0) and publishes nothing; here a timer tells every local cell to sync.
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import type { Log } from '../../core/log.js';
import { SCHEDULE_DEFAULTS } from '../../lambdas/fanout/run-limits.js';

/** The stack's schedule defaults as intervals. */
export const LOCAL_SCHEDULE_DEFAULTS = {
  republishIntervalMs: SCHEDULE_DEFAULTS.republishMinutes * 60_000,
  resyncIntervalMs: SCHEDULE_DEFAULTS.resyncMinutes * 60_000,
} as const;

const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'local';

/** What EventBridge sends a `rate(...)` rule's target with the default input. */
export function scheduledEvent(time: Date): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    // EventBridge gives the time to the second.
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/dynamic-egress-local-republish`],
    detail: {},
  };
}

export interface PeriodicJobsOptions {
  /** The scheduled republish; it logs its own failures. */
  readonly republish: () => Promise<unknown>;
  /** The full sync of every cell. */
  readonly resync: () => Promise<void>;
  readonly republishIntervalMs: number;
  readonly resyncIntervalMs: number;
  readonly log: Log;
}

export interface PeriodicJobs {
  stop(): void;
}

/** Starts both timers; they never keep the process alive on their own. */
export function startPeriodicJobs(options: PeriodicJobsOptions): PeriodicJobs {
  const timers = [
    setInterval(() => {
      // The handler logged the failure (as in Lambda); the next tick tries again.
      options.republish().catch(() => undefined);
    }, options.republishIntervalMs),
    setInterval(() => {
      options.resync().catch((error: unknown) => options.log.error('periodic sync failed', { error }));
    }, options.resyncIntervalMs),
  ];
  for (const timer of timers) timer.unref();
  return {
    stop: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
