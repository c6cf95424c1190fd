// Defaults of SSM Run Command's rate controls for the fan-out's commands and the resync association.
// Pure data, so the CDK stack can import it without loading the SSM client.

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
