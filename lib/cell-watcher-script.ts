// The shell lines that install (a step of the sync document) and remove (the uninstall document) the
// containers-file watcher, the resident agent and the boot unit of lib/cell-units.ts. Idempotent: a
// unit file is replaced (atomically, by rename) only when its content changed, and only then is
// systemd reloaded and the watcher restarted; the resident agent is restarted then and on a new build,
// else started if it is down. The boot unit is enabled, not started: it is for the next boot.
import { AGENT_SERVICE_UNIT } from './cell-resident.js';
import {
  BOOT_SERVICE,
  CELL_ENV_NAME,
  CELL_PATH,
  type CellUnits,
  CURRENT_AGENT_NAME,
  INSTALL_LOCK_NAME,
  INSTALL_LOCK_WAIT_SECONDS,
  lockedNode,
  SYNC_PATH_UNIT,
  SYNC_SERVICE,
  UNIT_DIR,
  UNITS_PENDING_NAME,
} from './cell-units.js';

/**
 * A sh condition: the whole value of `variable` matches the extended regular expression `pattern`.
 * grep matches line by line, so a value of several lines would pass on its first: those are refused
 * before (`wc -l` counts the newlines of a value printed without one of its own).
 */
export function wholeValueMatches(variable: string, pattern: string): string {
  return `{ [ "$(printf '%s' "$${variable}" | wc -l)" -eq 0 ] && printf '%s' "$${variable}" | grep -Eq '${pattern}'; }`;
}

/** Reads this instance's id from IMDSv2 into INSTANCE_ID, and checks its shape (it ends up in a file). */
export const INSTANCE_ID_LINES = [
  "IMDS_TOKEN=$(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)",
  'INSTANCE_ID=$(curl -sSf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)',
  `if ! ${wholeValueMatches('INSTANCE_ID', '^i-[0-9a-f]{8,17}$')}; then echo "dynamic-egress: unexpected instance id '$INSTANCE_ID'" >&2; exit 4; fi`,
] as const;

/** What systemd itself checks (sd_booted): this folder exists when systemd is the running init. */
export const SYSTEMD_RUNTIME_DIR = '/run/systemd/system';
export const noSystemd = (runtimeDir: string): string => `if [ ! -d ${runtimeDir} ]; then`;

/** Single-quotes a value for sh (tokens have no quote, so they pass through whole). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", () => "'\\''")}'`;
}

export interface InstallWatcherOptions {
  readonly units: CellUnits;
  readonly agentDir: string;
  /** The bundle this document downloaded (`<hash>.mjs`), which current.mjs comes to point at. */
  readonly agentFileName: string;
  readonly stateDir: string;
  /** For tests. @default UNIT_DIR */
  readonly unitDir?: string;
  /** For tests. @default SYSTEMD_RUNTIME_DIR */
  readonly systemdRuntimeDir?: string;
  /** The PATH the units run with, where they must find node. For tests. @default CELL_PATH */
  readonly unitPath?: string;
  /** Lines run first, each exiting non-zero on a value the units must not hold (the document's parameters). */
  readonly valueChecks?: readonly string[];
}

/** Writes the lines to `file` by rename when they differ from it, and sets `flag`=1 then. */
export function writeIfChanged(file: string, quotedLines: readonly string[], flag = 'CHANGED'): string[] {
  return [
    `printf '%s\\n' ${quotedLines.join(' ')} > ${file}.tmp`,
    `if cmp -s ${file}.tmp ${file}; then rm -f ${file}.tmp; else mv -f ${file}.tmp ${file}; ${flag}=1; fi`,
  ];
}

/** A file's lines, each quoted for sh (for writeIfChanged). */
export const quotedLines = (content: string): string[] => content.replace(/\n$/, '').split('\n').map(shellQuote);

export function installWatcherScript(options: InstallWatcherOptions): string[] {
  const current = `${options.agentDir}/${CURRENT_AGENT_NAME}`;
  const unitDir = options.unitDir ?? UNIT_DIR;
  const service = `${unitDir}/${SYNC_SERVICE}`;
  const path = `${unitDir}/${SYNC_PATH_UNIT}`;
  const boot = `${unitDir}/${BOOT_SERVICE}`;
  const agent = `${unitDir}/${AGENT_SERVICE_UNIT}`;
  const pending = `${options.agentDir}/${UNITS_PENDING_NAME}`;
  return [
    'set -eu',
    // A document parameter the units would hold and the agent refuses fails the step (exit 2) before
    // the trap below can soften it: the sync step would refuse it too.
    ...(options.valueChecks ?? []),
    // Whatever fails here (IMDS, a read-only /etc) must not fail the step: a failed step may end the
    // document before the sync step. It says so on stderr; the next document run tries again.
    `trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dynamic-egress: installing the containers-file watcher failed (exit $status): new containers get their rules on the next sync" >&2; exit 0; fi' EXIT`,
    'export PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH"',
    // One run at a time (a command and the association, or a deploy's two builds): a run's removal of
    // the pending mark below must not take away one another run has just written.
    `exec 9>${options.agentDir}/${INSTALL_LOCK_NAME}`,
    `if ! flock -w ${INSTALL_LOCK_WAIT_SECONDS} 9; then echo 'dynamic-egress: another run of the install step held its lock for ${INSTALL_LOCK_WAIT_SECONDS} s: this one changed nothing' >&2; exit 0; fi`,
    // The services run current.mjs: the bundle's own name changes with every build. The resident
    // agent is restarted below when the build it runs is not this one.
    `BUILD_CHANGED=0; if [ "$(readlink ${current} 2>/dev/null || true)" != ${shellQuote(options.agentFileName)} ]; then BUILD_CHANGED=1; fi`,
    // What this run changes is marked as not yet applied (a build before it is switched, units as soon
    // as they are written), and the mark goes only once systemd has reloaded and restarted: a run that
    // fails in between (IMDS, systemctl) leaves it, and the next run restarts though it finds nothing
    // new to write.
    `if [ "$BUILD_CHANGED" = 1 ]; then : > ${pending}; fi`,
    `ln -sfn ${shellQuote(options.agentFileName)} ${current}.tmp`,
    `mv -Tf ${current}.tmp ${current}`,
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} echo 'dynamic-egress: systemd is not running on this cell: no watcher on the containers file, new containers get their rules on the next sync' >&2; exit 0; fi`,
    `install -d -m 0700 ${options.stateDir}`,
    'umask 022',
    // systemd refusing must not risk the sync step (a failed step can end the document): it says so
    // on stderr, and the cell syncs on commands and schedule as before.
    'FAILED=0',
    // The boot unit first: it needs nothing from IMDS, and without it a rebooted cell is open until
    // its first sync. Enabled only: it runs at the next boot; on a running cell the sync step follows.
    'BOOT_CHANGED=0',
    ...writeIfChanged(boot, quotedLines(options.units.boot), 'BOOT_CHANGED'),
    `if [ "$BOOT_CHANGED" = 1 ]; then systemctl daemon-reload || FAILED=1; fi`,
    `systemctl enable ${BOOT_SERVICE} || FAILED=1`,
    ...INSTANCE_ID_LINES,
    'CHANGED=0',
    // The one value known only on the cell (checked above).
    ...writeIfChanged(`${options.stateDir}/${CELL_ENV_NAME}`, ['"CELL_NAME=$INSTANCE_ID"']),
    ...writeIfChanged(service, quotedLines(options.units.service)),
    ...writeIfChanged(path, quotedLines(options.units.path)),
    ...writeIfChanged(agent, quotedLines(options.units.agent)),
    `if [ "$CHANGED" = 1 ]; then : > ${pending}; fi`,
    // The units find node on their own PATH, not the SSM agent's, which the sync step checked: a node
    // only there (a snap, /opt) leaves the boot unit failing at the next boot, and the cell closed until
    // its first sync. Said now, on the step's stderr; the step goes on.
    `NODE_MAJOR=$(PATH=${shellQuote(options.unitPath ?? CELL_PATH)} node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)`,
    `case "$NODE_MAJOR" in ''|*[!0-9]*) NODE_MAJOR=0;; esac`,
    `if [ "$NODE_MAJOR" -lt 20 ]; then echo ${shellQuote(`dynamic-egress: the units find no node >= 20 on their PATH (${options.unitPath ?? CELL_PATH}): the boot unit cannot apply the rules at the next boot, which leaves the container network closed (its guard) until a sync succeeds; install node >= 20 into /usr/local/bin or /usr/bin`)} >&2; fi`,
    // A new build or new units, from this run or one that failed before applying them.
    `APPLY=0; APPLY_FAILED=0; if [ -e ${pending} ]; then APPLY=1; fi`,
    `if [ "$APPLY" = 1 ]; then systemctl daemon-reload || APPLY_FAILED=1; fi`,
    // A watcher stopped by the service's start limit (a flapping file) is re-armed here.
    `systemctl reset-failed ${SYNC_PATH_UNIT} ${SYNC_SERVICE} >/dev/null 2>&1 || true`,
    `systemctl enable --now ${SYNC_PATH_UNIT} || FAILED=1`,
    `if [ "$APPLY" = 1 ]; then systemctl restart ${SYNC_PATH_UNIT} || APPLY_FAILED=1; fi`,
    // The resident agent: restarted with a new build or new units (its flags), else only started if down.
    `systemctl reset-failed ${AGENT_SERVICE_UNIT} >/dev/null 2>&1 || true`,
    `systemctl enable ${AGENT_SERVICE_UNIT} || FAILED=1`,
    `if [ "$APPLY" = 1 ]; then systemctl restart ${AGENT_SERVICE_UNIT} || APPLY_FAILED=1; else systemctl start ${AGENT_SERVICE_UNIT} || FAILED=1; fi`,
    `if [ "$APPLY" = 1 ] && [ "$APPLY_FAILED" = 0 ]; then rm -f ${pending}; fi`,
    `if [ "$APPLY_FAILED" = 1 ]; then echo 'dynamic-egress: systemctl could not apply the new build or units: the next run of the document tries again' >&2; fi`,
    `if [ "$FAILED" = 1 ] || [ "$APPLY_FAILED" = 1 ]; then echo 'dynamic-egress: systemctl failed: the containers-file watcher may not run, new containers get their rules on the next sync' >&2; fi`,
  ];
}

/** How long the rules' removal waits for a sync under way (within the uninstall step's 60 s). */
export const UNINSTALL_LOCK_WAIT_SECONDS = 45;

export interface UninstallWatcherOptions {
  readonly agentDir: string;
  readonly stateDir: string;
  /**
   * A sh word that is `true` when the rules go too (the document's `{{RemoveRules}}`, which SSM
   * checks against its allowed values): `current.mjs uninstall` then runs once the units that would
   * program them again are stopped, and before the build is deleted. @default 'false'
   */
  readonly removeRules?: string;
  /** For tests. @default UNIT_DIR */
  readonly unitDir?: string;
  /** For tests. @default SYSTEMD_RUNTIME_DIR */
  readonly systemdRuntimeDir?: string;
}

/**
 * Stops and removes the watcher, the resident agent and the boot unit; with `removeRules`, then every
 * chain, set and hook the agent made (`agent uninstall`). The agent's state stays. A failed rule
 * removal fails the step, after the units and files are gone all the same.
 */
export function uninstallWatcherScript(options: UninstallWatcherOptions): string[] {
  const { agentDir, stateDir } = options;
  const unitDir = options.unitDir ?? UNIT_DIR;
  const current = `${agentDir}/${CURRENT_AGENT_NAME}`;
  return [
    'set -eu',
    'export PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH"',
    'RULES_STATUS=0',
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} echo 'dynamic-egress: systemd is not running on this cell: no watcher to remove' >&2; else`,
    `systemctl disable --now ${SYNC_PATH_UNIT} >/dev/null 2>&1 || true`,
    `systemctl stop ${SYNC_SERVICE} >/dev/null 2>&1 || true`,
    `systemctl disable ${BOOT_SERVICE} >/dev/null 2>&1 || true`,
    // Stopped before the rules go: a resident agent would program them again on its next request.
    `systemctl disable --now ${AGENT_SERVICE_UNIT} >/dev/null 2>&1 || true`,
    `rm -f ${unitDir}/${SYNC_PATH_UNIT} ${unitDir}/${SYNC_SERVICE} ${unitDir}/${BOOT_SERVICE} ${unitDir}/${AGENT_SERVICE_UNIT}`,
    'systemctl daemon-reload',
    `systemctl reset-failed ${SYNC_PATH_UNIT} ${SYNC_SERVICE} ${BOOT_SERVICE} ${AGENT_SERVICE_UNIT} >/dev/null 2>&1 || true`,
    'fi',
    // The agent removes what it made and nothing else (agent/uninstall.ts); the operator's rules stay.
    `if [ ${shellQuote(options.removeRules ?? 'false')} = true ]; then`,
    // Under the cell's sync lock: a sync already running (a command, the association) finishes first
    // rather than put the rules back after they went (one still waiting for the lock would: deploy.md).
    `if [ -e ${current} ]; then ${lockedNode(UNINSTALL_LOCK_WAIT_SECONDS, stateDir, current)} uninstall || RULES_STATUS=$?; else echo 'dynamic-egress: no agent build on this cell (${current}): the rules were not removed' >&2; RULES_STATUS=1; fi`,
    'fi',
    `rm -f ${current} ${agentDir}/${UNITS_PENDING_NAME} ${agentDir}/${INSTALL_LOCK_NAME} ${stateDir}/${CELL_ENV_NAME}`,
    "echo 'dynamic-egress: containers-file watcher, resident agent and boot unit removed'",
    `if [ "$RULES_STATUS" -ne 0 ]; then echo "dynamic-egress: removing the rules failed (exit $RULES_STATUS): they are still in force" >&2; exit "$RULES_STATUS"; fi`,
  ];
}
