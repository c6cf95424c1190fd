// The systemd unit that keeps a cell's host-name sets (agent/names/) at the current addresses of
// their names: one long-running service running `agent names --from-sync`, which follows the names
// document the sync writes in the state directory (host-names.json: the destinations whose host
// sets the rules match) and sleeps until the next expiry (or grace end), or until the document
// changes. A service, not a timer: the pause follows the TTLs (a timer's period is fixed), and the
// names' state stays in memory between passes (names.json only carries it across restarts). Pure:
// the sync document installs what this returns (cell-names-script.ts).
import { CELL_PATH } from './cell-units.js';

export const NAMES_SERVICE = 'dynamic-egress-names.service';
/** Pause before a failed service is started again. */
export const NAMES_RESTART_SECONDS = 5;

export interface NamesUnitOptions {
  /** The stable agent path (`<agent dir>/current.mjs`). */
  readonly agentFile: string;
  /**
   * The agent bundle (`<hash>.mjs`) current.mjs points at: a new build changes the unit, and the
   * install step restarts the service on it (it runs for days; it would keep the old code).
   */
  readonly agentBuild: string;
  /** The sync's state directory: its names document, and the refresh's own state (names.json). */
  readonly stateDir: string;
  readonly overlayCidr: string;
  /** The agent's `--deny-networks` in its compact form (`[a-z0-9.,/=+]`), or '' for none. */
  readonly denyNetworks: string;
}

export function namesUnit(options: NamesUnitOptions): string {
  for (const value of [options.agentFile, options.agentBuild, options.stateDir, options.overlayCidr]) {
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
    // No start limit: a refresh that keeps failing is retried every RestartSec.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `Environment=PATH=${CELL_PATH}`,
    `# Agent build ${options.agentBuild}: a new build rewrites this unit, and the install step restarts it.`,
    `ExecStart=/bin/sh -c 'exec node ${options.agentFile} names --from-sync --state-dir ${options.stateDir} --overlay-cidr ${options.overlayCidr}${deny}'`,
    'Restart=on-failure',
    `RestartSec=${NAMES_RESTART_SECONDS}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
