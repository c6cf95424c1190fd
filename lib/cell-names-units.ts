// The systemd unit that keeps a cell's host-name sets (agent/names/) at the current addresses of
// their names: one long-running service running `agent names`, which sleeps until the next expiry
// (or grace end) itself. A service, not a timer: the pause follows the TTLs (a timer's period is
// fixed), and the names' state stays in memory between passes (names.json only carries it across
// restarts). Pure: what the cell's installer writes is what this returns; not yet installed by the
// sync document (issue 15: the planner does not use host sets yet).
import { CELL_PATH } from './cell-units.js';

export const NAMES_SERVICE = 'dynamic-egress-names.service';
/** Pause before a failed service is started again. */
export const NAMES_RESTART_SECONDS = 5;

export interface NamesUnitOptions {
  /** The stable agent path (`<agent dir>/current.mjs`). */
  readonly agentFile: string;
  /** The destinations with hosts (`agent names --names`). */
  readonly namesFile: string;
  readonly stateDir: string;
  readonly overlayCidr: string;
  /** The agent's `--deny-networks` in its compact form (`[a-z0-9.,/=+]`), or '' for none. */
  readonly denyNetworks: string;
}

export function namesUnit(options: NamesUnitOptions): string {
  for (const value of [options.agentFile, options.namesFile, options.stateDir, options.overlayCidr]) {
    if (!/^[A-Za-z0-9./_-]+$/.test(value)) throw new Error(`namesUnit: unsafe value ${JSON.stringify(value)}`);
  }
  if (!/^[a-z0-9.,/=+]*$/.test(options.denyNetworks)) {
    throw new Error(`namesUnit: unsafe deny networks ${JSON.stringify(options.denyNetworks)}`);
  }
  const deny = options.denyNetworks === '' ? '' : ` --deny-networks ${options.denyNetworks}`;
  return [
    '[Unit]',
    "Description=dynamic-egress: keep the host-name ipsets at their names' current addresses",
    'Wants=network-online.target',
    'After=network-online.target',
    // No start limit: a refresh that keeps failing (a bad names file) is retried every RestartSec.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `Environment=PATH=${CELL_PATH}`,
    `ExecStart=/bin/sh -c 'exec node ${options.agentFile} names --names ${options.namesFile} --state-dir ${options.stateDir} --overlay-cidr ${options.overlayCidr}${deny}'`,
    'Restart=on-failure',
    `RestartSec=${NAMES_RESTART_SECONDS}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
