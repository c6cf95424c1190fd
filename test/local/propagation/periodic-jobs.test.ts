// Local mode's periodic jobs: the stack's two schedules as timers, and EventBridge's event shape.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLog } from '../../../core/log.js';
import { isScheduledEvent } from '../../../lambdas/fanout/republish.js';
import { CELL_DEFAULTS } from '../../../lib/cell-agent.js';
import { FANOUT_DEFAULTS } from '../../../lib/fanout.js';
import {
  LOCAL_SCHEDULE_DEFAULTS,
  scheduledEvent,
  startPeriodicJobs,
} from '../../../local/propagation/periodic-jobs.js';
import { SCHEDULED_EVENT } from '../../helpers/fixtures.js';

function minutesOf(expression: string): number | undefined {
  const rate = /^rate\(([1-9][0-9]*) minutes\)$/.exec(expression);
  return rate ? Number(rate[1]) : undefined;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('local periodic jobs', () => {
  it('default to the stack’s schedules: republish every 5 minutes, resync every 30', () => {
    expect(LOCAL_SCHEDULE_DEFAULTS.republishIntervalMs).toBe(
      (minutesOf(FANOUT_DEFAULTS.republishSchedule) ?? 0) * 60_000,
    );
    expect(LOCAL_SCHEDULE_DEFAULTS.resyncIntervalMs).toBe((minutesOf(CELL_DEFAULTS.resyncSchedule) ?? 0) * 60_000);
  });

  it('hand the republish an event shaped like EventBridge’s, which the fan-out recognizes', () => {
    const event = scheduledEvent(new Date('2026-01-01T12:00:00.123Z'));
    expect(isScheduledEvent(event)).toBe(true);
    expect(Object.keys(event).sort()).toEqual(Object.keys(SCHEDULED_EVENT).sort());
    expect(event).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      time: '2026-01-01T12:00:00Z',
    });
  });

  it('run each job on its own interval until stopped, and survive a failing run', async () => {
    vi.useFakeTimers();
    const ran: string[] = [];
    const jobs = startPeriodicJobs({
      republish: async () => {
        ran.push('republish');
        throw new Error('DynamoDB is down');
      },
      resync: async () => {
        ran.push('resync');
      },
      republishIntervalMs: 5_000,
      resyncIntervalMs: 30_000,
      log: silentLog,
    });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(ran.filter((job) => job === 'republish')).toHaveLength(6);
    expect(ran.filter((job) => job === 'resync')).toHaveLength(1);
    jobs.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ran).toHaveLength(7);
  });
});
