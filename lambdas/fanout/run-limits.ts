// Defaults of SSM Run Command's rate controls for the fan-out's commands and the resync association,
// of how often the periodic jobs run, and of when the scheduled republish tells lagging cells again. Pure data, so the CDK stack can
// import it without loading the SSM client.

export const RUN_LIMIT_DEFAULTS = {
  /** Half the cells sync at once: a bad agent build never hits every cell at the same moment. */
  maxConcurrency: '50%',
  /**
   * Never stop early: every cell must be told, so a few unreachable cells must not keep the rest
   * from converging. A failed cell is visible in its own invocation (list-command-invocations), a
   * failing agent leaves the cell's previous rules in place, and the association retries it.
   */
  maxErrors: '100%',
} as const;

/**
 * How often the two periodic jobs run, in minutes: the EventBridge rule that invokes the fan-out to
 * republish a stale snapshot, and the State Manager association that runs a full sync on every cell.
 * The stack turns them into `rate(...)` expressions, local mode into timers.
 */
export const SCHEDULE_DEFAULTS = {
  republishMinutes: 5,
  resyncMinutes: 30,
} as const;

/** `rate(N minutes)` as EventBridge and State Manager write it (N > 1). */
export const everyMinutes = (minutes: number): string => `rate(${minutes} minutes)`;

export const REPUBLISH_DEFAULTS = {
  /**
   * A cell counts as live if it synced within this window (two resync intervals in the stack). The
   * report of a terminated cell stays in the table; ignoring it after the window keeps one dead cell
   * from triggering a command every run forever.
   */
  liveCellWindowMs: 2 * SCHEDULE_DEFAULTS.resyncMinutes * 60_000,
  /** After a publish its own command may still be running on cells (the sync timeout). */
  commandGraceMs: 5 * 60 * 1000,
} as const;
