// The systemd units that log a cell's refused connections: ulogd2 reading the agent's NFLOG group
// into JSON lines (its configuration is written by the agent's own `ulogd-config`), the agent's
// `logs` forwarder adding each line's container identity, appending to one file the CloudWatch agent
// ships, and a timer rotating both files with logrotate before they fill the disk. Both restart on failure, every RESTART_SECONDS, without a start limit: logs are worth
// retrying forever, and neither touches the firewall rules.
// Pure: the document writes what these functions return; tests read and verify the same text.
import { CELL_PATH } from './cell-units.js';

/** Where the enriched lines go, and ulogd's raw JSON lines beside them. */
export const CONNECTION_LOG_DIR = '/var/log/dynamic-egress';
/** The file the CloudWatch agent ships (docs/deploy.md shows its configuration). */
export const CONNECTION_LOG_FILE = `${CONNECTION_LOG_DIR}/egress.log`;
/** ulogd's output, the forwarder's input. */
export const ULOGD_JSON_FILE = `${CONNECTION_LOG_DIR}/ulogd.json`;
/** The ulogd configuration the document writes (with `agent ulogd-config`). */
export const ULOGD_CONFIG_FILE = '/etc/dynamic-egress/ulogd.conf';
export const ULOGD_SERVICE = 'dynamic-egress-ulogd.service';
export const LOGS_SERVICE = 'dynamic-egress-logs.service';
/** Pause before a failed service is started again. */
export const RESTART_SECONDS = 5;
/** logrotate's configuration for both files, and the state it keeps (its own, not the distribution's). */
export const LOGROTATE_CONFIG_FILE = '/etc/dynamic-egress/logrotate.conf';
export const LOGROTATE_STATE_FILE = '/var/lib/dynamic-egress/logrotate.state';
export const LOGROTATE_SERVICE = 'dynamic-egress-logrotate.service';
export const LOGROTATE_TIMER = 'dynamic-egress-logrotate.timer';
/**
 * A log is rotated once it passes this size, checked every LOGROTATE_EVERY: one line per refused
 * connection and second per container (the default rate) is up to ~100 KB/s on a busy cell, more than
 * the distribution's daily logrotate can keep up with.
 */
export const LOGROTATE_SIZE = '50M';
export const LOGROTATE_EVERY = '5min';
/** Rotated copies of the enriched log kept on the cell (the CloudWatch agent has shipped them). */
export const LOGROTATE_KEEP = 4;

export interface ConnectionLoggingUnitOptions {
  /** The stable agent path (`<agent dir>/current.mjs`). */
  readonly agentFile: string;
  /**
   * The bundle current.mjs points at (`<hash>.mjs`). Written into the forwarder's unit, so a new build
   * changes the unit and the install step restarts the forwarder on it.
   */
  readonly agentBuild: string;
  readonly containersPath: string;
  /** @default ULOGD_CONFIG_FILE */
  readonly ulogdConfigFile?: string;
  /** @default ULOGD_JSON_FILE */
  readonly ulogdJsonFile?: string;
  /** @default CONNECTION_LOG_FILE */
  readonly outputFile?: string;
  /** @default LOGROTATE_CONFIG_FILE */
  readonly rotationConfigFile?: string;
  /** @default LOGROTATE_STATE_FILE */
  readonly rotationStateFile?: string;
  /**
   * How logrotate makes ulogd write to a new file after moving its output away (ulogd reopens its
   * output on SIGHUP). Tests name a process; only `kill -HUP <pid>` is taken besides the default.
   * @default `systemctl kill --signal=HUP ${ULOGD_SERVICE}`
   */
  readonly reopenUlogd?: string;
}

export interface ConnectionLoggingUnits {
  readonly ulogd: string;
  readonly logs: string;
  /** logrotate's configuration (LOGROTATE_CONFIG_FILE). */
  readonly rotation: string;
  /** The oneshot service running logrotate on it, and the timer starting it every LOGROTATE_EVERY. */
  readonly rotateService: string;
  readonly rotateTimer: string;
}

export function connectionLoggingUnits(options: ConnectionLoggingUnitOptions): ConnectionLoggingUnits {
  const ulogdConfigFile = options.ulogdConfigFile ?? ULOGD_CONFIG_FILE;
  const ulogdJsonFile = options.ulogdJsonFile ?? ULOGD_JSON_FILE;
  const outputFile = options.outputFile ?? CONNECTION_LOG_FILE;
  const rotationConfigFile = options.rotationConfigFile ?? LOGROTATE_CONFIG_FILE;
  const rotationStateFile = options.rotationStateFile ?? LOGROTATE_STATE_FILE;
  validateUnitValue(
    options.agentFile,
    options.agentBuild,
    options.containersPath,
    ulogdConfigFile,
    ulogdJsonFile,
    outputFile,
    rotationConfigFile,
    rotationStateFile,
  );
  const reopenUlogd = options.reopenUlogd ?? `systemctl kill --signal=HUP ${ULOGD_SERVICE}`;
  if (options.reopenUlogd !== undefined && !/^kill -HUP [1-9][0-9]{0,9}$/.test(options.reopenUlogd)) {
    throw new Error(`connectionLoggingUnits: unsafe reopenUlogd ${JSON.stringify(options.reopenUlogd)}`);
  }
  const restart = ['Restart=on-failure', `RestartSec=${RESTART_SECONDS}`];
  const ulogd = [
    '[Unit]',
    'Description=dynamic-egress: ulogd2 writing the refused connections the agent logs to NFLOG as JSON lines',
    // No start limit: a ulogd that keeps failing is retried every RestartSec, for as long as it fails.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `Environment=PATH=${CELL_PATH}`,
    // Through the PATH: ulogd is /usr/sbin/ulogd on Debian, elsewhere where it was installed.
    `ExecStart=/bin/sh -c 'exec ulogd -c ${ulogdConfigFile}'`,
    ...restart,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const logs = [
    '[Unit]',
    `Description=dynamic-egress: refused connections with their container's app, space and org, appended to ${outputFile}`,
    `After=${ULOGD_SERVICE}`,
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `Environment=PATH=${CELL_PATH}`,
    `# Agent build ${options.agentBuild}: a new build rewrites this unit, and the install step restarts it.`,
    // Where it stopped, kept beside ulogd's file: a restart (a new build, a crash, a reboot) goes on
    // from there, and the lines written meanwhile are not lost.
    `ExecStart=/bin/sh -c 'exec node ${options.agentFile} logs --containers ${options.containersPath} --input ${ulogdJsonFile} --output ${outputFile} --position-file ${ulogdJsonFile}.position'`,
    ...restart,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  // ulogd's output is moved away and ulogd told to reopen it (a copy and truncate could lose the lines
  // written between the two); the forwarder finishes the moved file, then follows the new one. Its
  // own output it appends to by path, so the next line after a move starts a new file.
  const rotation = [
    `# dynamic-egress: connection logs, checked every ${LOGROTATE_EVERY} by ${LOGROTATE_TIMER}.`,
    `${outputFile} {`,
    `\tsize ${LOGROTATE_SIZE}`,
    `\trotate ${LOGROTATE_KEEP}`,
    '\tcompress',
    '\tdelaycompress',
    '\tmissingok',
    '\tnotifempty',
    '\tnocreate',
    '}',
    `${ulogdJsonFile} {`,
    `\tsize ${LOGROTATE_SIZE}`,
    '\trotate 1',
    '\tmissingok',
    '\tnotifempty',
    '\tnocreate',
    '\tpostrotate',
    `\t\t${reopenUlogd}`,
    '\tendscript',
    '}',
    '',
  ].join('\n');
  const rotateService = [
    '[Unit]',
    `Description=dynamic-egress: rotate ${outputFile} and ${ulogdJsonFile} past ${LOGROTATE_SIZE}`,
    '',
    '[Service]',
    'Type=oneshot',
    `Environment=PATH=${CELL_PATH}`,
    `ExecStart=/bin/sh -c 'exec logrotate --state ${rotationStateFile} ${rotationConfigFile}'`,
    '',
  ].join('\n');
  const rotateTimer = [
    '[Unit]',
    `Description=dynamic-egress: rotate the connection logs every ${LOGROTATE_EVERY}`,
    '',
    '[Timer]',
    `OnBootSec=${LOGROTATE_EVERY}`,
    `OnUnitActiveSec=${LOGROTATE_EVERY}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { ulogd, logs, rotation, rotateService, rotateTimer };
}

/** Values land unquoted in a unit file and in `sh -c '…'`: no quote, space, `$`, `%` or line break. */
function validateUnitValue(...values: string[]): void {
  for (const value of values) {
    if (!/^[A-Za-z0-9./_-]+$/.test(value)) {
      throw new Error(`connectionLoggingUnits: unsafe value ${JSON.stringify(value)}`);
    }
  }
}
