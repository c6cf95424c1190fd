// The one reader of schedule expressions behind resyncSchedule, republishSchedule and the live-cell
// window; what each setting accepts is tested with its construct (cell-agent, stack, propagation).
import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../../lib/schedule.js';

describe('parseSchedule', () => {
  it.each([
    ['rate(1 minute)', { amount: 1, unit: 'minute', minutes: 1, unitAgrees: true }],
    ['rate(30 minutes)', { amount: 30, unit: 'minute', minutes: 30, unitAgrees: true }],
    ['rate(1 hour)', { amount: 1, unit: 'hour', minutes: 60, unitAgrees: true }],
    ['rate(2 days)', { amount: 2, unit: 'day', minutes: 2880, unitAgrees: true }],
    // Read, but flagged: EventBridge refuses them, State Manager does not.
    ['rate(1 minutes)', { amount: 1, unit: 'minute', minutes: 1, unitAgrees: false }],
    ['rate(5 hour)', { amount: 5, unit: 'hour', minutes: 300, unitAgrees: false }],
  ])('reads %s', (expression, rate) => {
    expect(parseSchedule(expression)).toEqual({ kind: 'rate', ...rate });
  });

  it('reads cron(...) without judging its fields', () => {
    expect(parseSchedule('cron(0 */2 * * ? *)')).toEqual({ kind: 'cron' });
    expect(parseSchedule('cron(0 3 ? * MON-FRI *)')).toEqual({ kind: 'cron' });
  });

  it.each([
    'every hour',
    'rate(0 minutes)',
    'rate(05 minutes)',
    'rate(5 weeks)',
    'rate(5  minutes)',
    ' rate(5 minutes)',
    'cron()',
    "cron(0 3 * * ? *)'; rm -rf /",
  ])('refuses %j', (expression) => {
    expect(parseSchedule(expression)).toBeUndefined();
  });
});
