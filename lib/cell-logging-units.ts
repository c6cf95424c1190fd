// The systemd units that log a cell's refused connections: ulogd2 reading the agent's NFLOG group
// into JSON lines (its configuration is written by the agent's own `ulogd-config`), and the agent's
// `logs` forwarder adding each line's container identity, appending to one file the CloudWatch agent
// ships. Both restart on failure, every RESTART_SECONDS, without a start limit: logs are worth
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
}

export interface ConnectionLoggingUnits {
  readonly ulogd: string;
  readonly logs: string;
}

export function connectionLoggingUnits(options: ConnectionLoggingUnitOptions): ConnectionLoggingUnits {
  const ulogdConfigFile = options.ulogdConfigFile ?? ULOGD_CONFIG_FILE;
  const ulogdJsonFile = options.ulogdJsonFile ?? ULOGD_JSON_FILE;
  const outputFile = options.outputFile ?? CONNECTION_LOG_FILE;
  validateUnitValue(
    options.agentFile,
    options.agentBuild,
    options.containersPath,
    ulogdConfigFile,
    ulogdJsonFile,
    outputFile,
  );
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
    `ExecStart=/bin/sh -c 'exec node ${options.agentFile} logs --containers ${options.containersPath} --input ${ulogdJsonFile} --output ${outputFile}'`,
    ...restart,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  return { ulogd, logs };
}

/** Values land unquoted in a unit file and in `sh -c '…'`: no quote, space, `$`, `%` or line break. */
function validateUnitValue(...values: string[]): void {
  for (const value of values) {
    if (!/^[A-Za-z0-9./_-]+$/.test(value)) {
      throw new Error(`connectionLoggingUnits: unsafe value ${JSON.stringify(value)}`);
    }
  }
}
