// Schedule expressions as AWS writes them (`rate(N unit)` or `cron(...)`), read once for every
// setting that takes one: State Manager's resync schedule, EventBridge's republish schedule and the
// live-cell window derived from the former. Each validator keeps its own rules and messages.

export type RateUnit = 'minute' | 'hour' | 'day';

export interface RateSchedule {
  readonly kind: 'rate';
  /** The N of `rate(N unit)`, at least 1. */
  readonly amount: number;
  readonly unit: RateUnit;
  /** The interval in minutes. */
  readonly minutes: number;
  /**
   * The unit is singular for 1 and plural otherwise, as EventBridge requires (`rate(1 minute)`,
   * `rate(5 minutes)`). State Manager is not that strict.
   */
  readonly unitAgrees: boolean;
}

export interface CronSchedule {
  readonly kind: 'cron';
}

export type Schedule = RateSchedule | CronSchedule;

const MINUTES_PER_UNIT: Readonly<Record<RateUnit, number>> = { minute: 1, hour: 60, day: 1440 };
const RATE = /^rate\(([1-9][0-9]*) (minute|hour|day)(s?)\)$/;
// The fields themselves are left to the service; this keeps the expression to the characters they use.
const CRON = /^cron\([0-9A-Za-z*?,/#\- ]+\)$/;

/** The schedule, or undefined when `expression` is neither a `rate(...)` nor a `cron(...)`. */
export function parseSchedule(expression: string): Schedule | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    const amount = Number(rate[1]);
    const unit = rate[2] as RateUnit;
    return {
      kind: 'rate',
      amount,
      unit,
      minutes: amount * MINUTES_PER_UNIT[unit],
      unitAgrees: (amount === 1) === (rate[3] === ''),
    };
  }
  return CRON.test(expression) ? { kind: 'cron' } : undefined;
}
