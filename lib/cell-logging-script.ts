// The shell lines that install (a step of the sync document) and remove (the same step when connection
// logging is off, and the uninstall document) the connection logging of lib/cell-logging-units.ts.
// Like the watcher's step, nothing here may fail the document: the firewall rules of the sync step
// matter more than the logs of what they refuse. Every problem is one line on stderr, exit 0, and the
// next document run tries again. Idempotent: files are replaced by rename only when their content
// changed, and only then is systemd reloaded and the service that reads them restarted.
import {
  CONNECTION_LOG_DIR,
  type ConnectionLoggingUnits,
  LOGROTATE_CONFIG_FILE,
  LOGROTATE_SERVICE,
  LOGROTATE_STATE_FILE,
  LOGROTATE_TIMER,
  LOGS_SERVICE,
  ULOGD_CONFIG_FILE,
  ULOGD_JSON_FILE,
  ULOGD_SERVICE,
} from './cell-logging-units.js';
import { CELL_PATH, UNIT_DIR } from './cell-units.js';
import { noSystemd, quotedLines, SYSTEMD_RUNTIME_DIR, writeIfChanged } from './cell-watcher-script.js';

/** Where distributions put ulogd's plugins (Debian per architecture, RPM-based lib64, source builds). */
export const ULOGD_PLUGIN_DIRS = ['/usr/lib/*/ulogd', '/usr/lib64/ulogd', '/usr/lib/ulogd', '/usr/local/lib/ulogd'];
/** The plugin whose presence says ulogd can write JSON (Debian ships it apart, in ulogd2-json). */
export const ULOGD_JSON_PLUGIN = 'ulogd_output_JSON.so';

const NOT_LOGGED = 'refused connections are not logged on this cell (the firewall rules are applied all the same)';

export interface InstallConnectionLoggingOptions {
  readonly units: ConnectionLoggingUnits;
  /** The stable agent path (`<agent dir>/current.mjs`), which writes the ulogd configuration. */
  readonly agentFile: string;
  /** The NFLOG group the sync's rules log to (its `--log-group`). */
  readonly nflogGroup: number;
  /** For tests. @default ULOGD_CONFIG_FILE */
  readonly ulogdConfigFile?: string;
  /** For tests. @default ULOGD_JSON_FILE */
  readonly ulogdJsonFile?: string;
  /** For tests. @default CONNECTION_LOG_DIR */
  readonly logDir?: string;
  /** For tests. @default UNIT_DIR */
  readonly unitDir?: string;
  /** For tests. @default SYSTEMD_RUNTIME_DIR */
  readonly systemdRuntimeDir?: string;
  /** For tests. @default ULOGD_PLUGIN_DIRS */
  readonly ulogdPluginDirs?: readonly string[];
  /** For tests; the file the units' logrotate configuration was made for. @default LOGROTATE_CONFIG_FILE */
  readonly rotationConfigFile?: string;
  /** For tests; as the units were made for. @default LOGROTATE_STATE_FILE */
  readonly rotationStateFile?: string;
}

export function installConnectionLoggingScript(options: InstallConnectionLoggingOptions): string[] {
  if (!Number.isInteger(options.nflogGroup) || options.nflogGroup < 1 || options.nflogGroup > 65535) {
    throw new Error(`installConnectionLoggingScript: nflogGroup must be 1-65535, got ${options.nflogGroup}`);
  }
  const unitDir = options.unitDir ?? UNIT_DIR;
  const config = options.ulogdConfigFile ?? ULOGD_CONFIG_FILE;
  const configDir = config.replace(/\/[^/]+$/, '');
  const ulogd = `${unitDir}/${ULOGD_SERVICE}`;
  const logs = `${unitDir}/${LOGS_SERVICE}`;
  const rotateService = `${unitDir}/${LOGROTATE_SERVICE}`;
  const rotateTimer = `${unitDir}/${LOGROTATE_TIMER}`;
  const rotationConfig = options.rotationConfigFile ?? LOGROTATE_CONFIG_FILE;
  const stateDir = (options.rotationStateFile ?? LOGROTATE_STATE_FILE).replace(/\/[^/]+$/, '');
  const pluginDirs = (options.ulogdPluginDirs ?? ULOGD_PLUGIN_DIRS).join(' ');
  return [
    'set -eu',
    `trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dynamic-egress: installing connection logging failed (exit $status): ${NOT_LOGGED}" >&2; exit 0; fi' EXIT`,
    `export PATH="${CELL_PATH}:$PATH"`,
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} echo 'dynamic-egress: systemd is not running: ${NOT_LOGGED}' >&2; exit 0; fi`,
    `if ! command -v ulogd >/dev/null 2>&1; then echo 'dynamic-egress: warning: ulogd is not installed: ${NOT_LOGGED}; install ulogd2 and its JSON output (Debian: apt-get install ulogd2 ulogd2-json)' >&2; exit 0; fi`,
    "PLUGIN_DIR=''",
    `for dir in ${pluginDirs}; do if [ -f "$dir/${ULOGD_JSON_PLUGIN}" ]; then PLUGIN_DIR=$dir; break; fi; done`,
    `if [ -z "$PLUGIN_DIR" ]; then echo 'dynamic-egress: warning: ulogd has no JSON output (${ULOGD_JSON_PLUGIN} in none of ${pluginDirs}): ${NOT_LOGGED}; install it (Debian: apt-get install ulogd2-json)' >&2; exit 0; fi`,
    `install -d -m 0755 ${configDir} ${options.logDir ?? CONNECTION_LOG_DIR}`,
    'umask 022',
    'ULOGD_CHANGED=0',
    'LOGS_CHANGED=0',
    // The agent writes ulogd's configuration, for the group its rules log to.
    `node ${options.agentFile} ulogd-config --json-file ${options.ulogdJsonFile ?? ULOGD_JSON_FILE} --log-group ${options.nflogGroup} --plugin-dir "$PLUGIN_DIR" > ${config}.tmp`,
    `if cmp -s ${config}.tmp ${config}; then rm -f ${config}.tmp; else mv -f ${config}.tmp ${config}; ULOGD_CHANGED=1; fi`,
    ...writeIfChanged(ulogd, quotedLines(options.units.ulogd), 'ULOGD_CHANGED'),
    ...writeIfChanged(logs, quotedLines(options.units.logs), 'LOGS_CHANGED'),
    // Rotation: without logrotate the logs still flow, and grow until someone installs it.
    'ROTATE_CHANGED=0',
    'if command -v logrotate >/dev/null 2>&1; then',
    `install -d -m 0755 ${stateDir}`,
    ...writeIfChanged(rotationConfig, quotedLines(options.units.rotation), 'ROTATE_CHANGED'),
    ...writeIfChanged(rotateService, quotedLines(options.units.rotateService), 'ROTATE_CHANGED'),
    ...writeIfChanged(rotateTimer, quotedLines(options.units.rotateTimer), 'ROTATE_CHANGED'),
    `else echo 'dynamic-egress: warning: logrotate is not installed: the connection logs in ${options.logDir ?? CONNECTION_LOG_DIR} are not rotated and grow until it is (Debian: apt-get install logrotate)' >&2; fi`,
    'FAILED=0',
    `if [ "$ULOGD_CHANGED$LOGS_CHANGED$ROTATE_CHANGED" != 000 ]; then systemctl daemon-reload || FAILED=1; fi`,
    `systemctl reset-failed ${ULOGD_SERVICE} ${LOGS_SERVICE} >/dev/null 2>&1 || true`,
    `systemctl enable --now ${ULOGD_SERVICE} ${LOGS_SERVICE} || FAILED=1`,
    `if [ -e ${rotateTimer} ]; then systemctl enable --now ${LOGROTATE_TIMER} || FAILED=1; fi`,
    `if [ "$ULOGD_CHANGED" = 1 ]; then systemctl restart ${ULOGD_SERVICE} || FAILED=1; fi`,
    `if [ "$LOGS_CHANGED" = 1 ]; then systemctl restart ${LOGS_SERVICE} || FAILED=1; fi`,
    `if [ "$FAILED" = 1 ]; then echo 'dynamic-egress: systemctl failed: connection logging may not run (journalctl -u ${ULOGD_SERVICE} -u ${LOGS_SERVICE}); the firewall rules are applied all the same' >&2; fi`,
  ];
}

export interface RemoveConnectionLoggingOptions {
  /**
   * In the sync document (connection logging off): any failure is a line on stderr and exit 0. The
   * uninstall document fails instead, so its operator sees it.
   */
  readonly neverFail: boolean;
  /** For tests. @default ULOGD_CONFIG_FILE */
  readonly ulogdConfigFile?: string;
  /** For tests. @default UNIT_DIR */
  readonly unitDir?: string;
  /** For tests. @default SYSTEMD_RUNTIME_DIR */
  readonly systemdRuntimeDir?: string;
  /** For tests. @default LOGROTATE_CONFIG_FILE */
  readonly rotationConfigFile?: string;
}

/**
 * Stops and removes both services, the rotation timer and its service, ulogd's and logrotate's
 * configuration, touching systemd only when a unit is there. The log files stay: they may hold
 * lines the CloudWatch agent has not shipped yet.
 */
export function removeConnectionLoggingScript(options: RemoveConnectionLoggingOptions): string[] {
  const unitDir = options.unitDir ?? UNIT_DIR;
  const units = [ULOGD_SERVICE, LOGS_SERVICE, LOGROTATE_TIMER, LOGROTATE_SERVICE]
    .map((unit) => `${unitDir}/${unit}`)
    .join(' ');
  return [
    'set -eu',
    ...(options.neverFail
      ? [
          `trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dynamic-egress: removing connection logging failed (exit $status); the next run tries again" >&2; exit 0; fi' EXIT`,
        ]
      : []),
    `export PATH="${CELL_PATH}:$PATH"`,
    `if [ -e ${unitDir}/${ULOGD_SERVICE} ] || [ -e ${unitDir}/${LOGS_SERVICE} ] || [ -e ${unitDir}/${LOGROTATE_TIMER} ]; then`,
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} rm -f ${units}; else`,
    `systemctl disable --now ${LOGROTATE_TIMER} ${LOGS_SERVICE} ${ULOGD_SERVICE} >/dev/null 2>&1 || true`,
    `rm -f ${units}`,
    'systemctl daemon-reload',
    `systemctl reset-failed ${LOGROTATE_SERVICE} ${LOGS_SERVICE} ${ULOGD_SERVICE} >/dev/null 2>&1 || true`,
    'fi',
    "echo 'dynamic-egress: connection logging removed (the log files stay)'",
    'fi',
    `rm -f ${options.ulogdConfigFile ?? ULOGD_CONFIG_FILE} ${options.rotationConfigFile ?? LOGROTATE_CONFIG_FILE}`,
  ];
}
