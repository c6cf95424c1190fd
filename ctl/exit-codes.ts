// egressctl's exit codes, the contract scripts rely on (listed in `egressctl --help` and docs/cli.md).

/** Done. `explain`: the connection is allowed. `cells`: every cell is within the thresholds. */
export const EXIT_OK = 0;
/** The API refused the request (4xx other than 401, or 5xx), or the command failed (an unreadable file). */
export const EXIT_FAILED = 1;
/** The command line is wrong: unknown command or flag, a missing or malformed value. Nothing was sent. */
export const EXIT_USAGE = 2;
/** No API to talk to: none found, unreachable, or no valid token (none found, or the API answered 401). */
export const EXIT_UNREACHABLE = 3;
/** `cells`: at least one cell is behind past --max-lag or has not synced within --max-age. */
export const EXIT_CELLS_BEHIND = 4;
/** `explain`: the connection would be refused. */
export const EXIT_DENIED = 5;

export const EXIT_CODE_LINES: readonly string[] = [
  'exit codes:',
  `  ${EXIT_OK}  done (explain: allowed; cells: every cell within the thresholds)`,
  `  ${EXIT_FAILED}  the API refused the request (4xx, 5xx) or the command failed (e.g. an unreadable file)`,
  `  ${EXIT_USAGE}  usage error: unknown command or flag, missing or malformed value (nothing was sent)`,
  `  ${EXIT_UNREACHABLE}  cannot reach the API, or no valid token (none found, or 401)`,
  `  ${EXIT_CELLS_BEHIND}  cells: a cell is behind past --max-lag or has not synced within --max-age`,
  `  ${EXIT_DENIED}  explain: the connection would be denied`,
];
