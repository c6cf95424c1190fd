// The cell's resident agent (`agent serve`, agent/serve/): its systemd service, and the sh function
// through which the SSM step and the containers-file service hand it a sync without starting node.
// When no resident agent answers (not installed, not running, restarting, or slower than
// RESIDENT_WAIT_SECONDS), the caller runs the sync itself as before, under the same lock.
// Pure: the document writes what these functions return; tests run the same text.
import {
  DEFAULT_REQUESTS_DIR,
  NOT_ANSWERED,
  REQUEST_SUFFIX,
  RESULT_SUFFIXES,
  TAKEN_SUFFIX,
} from '../agent/serve/requests.js';

export { NOT_ANSWERED };

export const AGENT_SERVICE_UNIT = 'dynamic-egress-agent.service';
/** The folder of requests: the service's RuntimeDirectory, so it exists exactly while the service runs. */
export const REQUESTS_DIR = DEFAULT_REQUESTS_DIR;
/** How long a caller waits for the resident agent's answer before it syncs itself. */
export const RESIDENT_WAIT_SECONDS = 60;
/**
 * The caller's poll intervals (what the answer may wait beyond the sync); GNU and busybox sleep take
 * them. The first RESIDENT_FAST_POLLS are short, since most syncs through the agent take 50-300 ms
 * and each poll forks `sleep`; then RESIDENT_POLL_SECONDS.
 */
export const RESIDENT_FAST_POLL_SECONDS = 0.005;
export const RESIDENT_FAST_POLLS = 40;
export const RESIDENT_POLL_SECONDS = 0.02;

/** How many polls the sh function makes before it gives up, waiting at least `waitSeconds`. */
export function residentPolls(waitSeconds: number): number {
  const fast = RESIDENT_FAST_POLLS * RESIDENT_FAST_POLL_SECONDS;
  return RESIDENT_FAST_POLLS + Math.max(0, Math.ceil((waitSeconds - fast) / RESIDENT_POLL_SECONDS));
}

/**
 * How long a caller whose step may take `timeoutSeconds` waits for the resident agent: at most
 * RESIDENT_WAIT_SECONDS, and half the step's time, so that its own sync still has the other half.
 */
export function residentWaitSeconds(timeoutSeconds: number): number {
  return Math.min(RESIDENT_WAIT_SECONDS, Math.max(10, Math.floor(timeoutSeconds / 2)));
}

export interface ResidentClientOptions {
  /** @default REQUESTS_DIR */
  readonly requestsDir?: string;
  /** @default RESIDENT_WAIT_SECONDS */
  readonly waitSeconds?: number;
}

/**
 * A sh function, `resident_sync MIN_VERSION cheap|full [reject|allow]`: leaves a request for the
 * resident agent (the third word: the unknown-sources setting the caller syncs with, which an agent
 * started with another does not serve),
 * waits for its answer, prints its output (stdout, stderr) and returns its exit code; returns
 * NOT_ANSWERED, having printed nothing, when no agent answered. One line, without single quotes or
 * backslashes, so that a systemd unit can hold it (cell-units.ts); its arguments are checked by the
 * caller (digits; cheap or full) and again by the agent.
 */
export function residentSyncFunction(options: ResidentClientOptions = {}): string {
  const dir = options.requestsDir ?? REQUESTS_DIR;
  if (!/^\/[A-Za-z0-9./_-]+$/.test(dir)) throw new Error(`residentSyncFunction: unsafe dir ${JSON.stringify(dir)}`);
  const waitSeconds = Math.ceil(options.waitSeconds ?? RESIDENT_WAIT_SECONDS);
  const polls = residentPolls(waitSeconds);
  const file = (suffix: string) => `${dir}/$id${suffix}`;
  const results = Object.values(RESULT_SUFFIXES).map(file).join(' ');
  return [
    'resident_sync() {',
    `[ -d ${dir} ] || return ${NOT_ANSWERED};`,
    // Unique per call: one shell may call it several times a second (the containers-file service).
    // The kernel's random UUID is read by a builtin (every fork costs the answer 1-3 ms); the date
    // and the shell's pid make one where it cannot be read.
    'resident_calls=$((resident_calls + 1)); id=;',
    '{ read -r id < /proc/sys/kernel/random/uuid; } 2>/dev/null;',
    'case "$id" in *[!0-9a-f-]*|"") id=$(date +%s)-$$-$resident_calls;; esac;',
    // Written whole: the agent takes only files named *.request. The group's 2>/dev/null silences a
    // failed redirection (the folder gone meanwhile) in dash and bash alike; inline it does in one only.
    `{ echo "$1 $2\${3:+ $3}" > ${dir}/.$id.tmp; } 2>/dev/null && mv -f ${dir}/.$id.tmp ${file(REQUEST_SUFFIX)} 2>/dev/null || { rm -f ${dir}/.$id.tmp; return ${NOT_ANSWERED}; };`,
    // The wait is timed by the kernel's uptime (read by a builtin: each poll's fork of sleep makes a
    // count of polls run long), in whole seconds, so it lasts between the wait and 2 s more, from the
    // first read that works; and by the count of polls too, which ends it where /proc/uptime cannot
    // be read at all.
    `n=0; resident_t0=; { read -r resident_t0 _ < /proc/uptime; } 2>/dev/null; resident_t0=\${resident_t0%%.*};`,
    'case "$resident_t0" in *[!0-9]*|"") resident_t0=;; esac;',
    `while [ ! -f ${file(RESULT_SUFFIXES.code)} ]; do`,
    `resident_now=; { read -r resident_now _ < /proc/uptime; } 2>/dev/null; resident_now=\${resident_now%%.*};`,
    'case "$resident_now" in *[!0-9]*|"") resident_now=$resident_t0;; *) [ -n "$resident_t0" ] || resident_t0=$resident_now;; esac;',
    // Gave up: a request still waiting is withdrawn; one taken is answered into the void (the agent
    // removes results nobody collects).
    `if [ $n -ge ${polls} ] || { [ -n "$resident_t0" ] && [ $((resident_now - resident_t0)) -gt ${waitSeconds} ]; }; then rm -f ${file(REQUEST_SUFFIX)}; return ${NOT_ANSWERED}; fi;`,
    // The agent stopped (systemd removes its folder): no answer will come. Or it restarted, and
    // systemd replaced the folder with the request in it: none of the request's files is left (the
    // agent's order is .request, then .taken, then .code, and these checks look in the same order).
    `[ -d ${dir} ] || return ${NOT_ANSWERED};`,
    `[ -f ${file(REQUEST_SUFFIX)} ] || [ -f ${file(TAKEN_SUFFIX)} ] || [ -f ${file(RESULT_SUFFIXES.code)} ] || return ${NOT_ANSWERED};`,
    `if [ $n -lt ${RESIDENT_FAST_POLLS} ]; then sleep ${RESIDENT_FAST_POLL_SECONDS}; else sleep ${RESIDENT_POLL_SECONDS}; fi; n=$((n + 1));`,
    'done;',
    // Builtins where they do: `read` for the code, `cat` only for output there is.
    `code=; read -r code < ${file(RESULT_SUFFIXES.code)};`,
    `case "$code" in ""|*[!0-9]*) rm -f ${results}; return ${NOT_ANSWERED};; esac;`,
    `if [ -s ${file(RESULT_SUFFIXES.stdout)} ]; then cat ${file(RESULT_SUFFIXES.stdout)}; fi;`,
    `if [ -s ${file(RESULT_SUFFIXES.stderr)} ]; then cat ${file(RESULT_SUFFIXES.stderr)} >&2; fi;`,
    `rm -f ${results};`,
    'return "$code";',
    '}; resident_calls=0;',
  ].join(' ');
}
