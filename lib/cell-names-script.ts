// The shell lines that install (a step of the sync document) and remove (the uninstall document)
// the host-name refresh service of cell-names-units.ts. Idempotent: the unit file is replaced (by
// rename) only when its content changed (a new agent build changes it), and only then is systemd
// reloaded and the service restarted.
import { HOST_SET_PREFIX } from '../core/plan/names.js';
import { NAMES_SERVICE } from './cell-names-units.js';
import { CELL_PATH, UNIT_DIR } from './cell-units.js';
import { noSystemd, quotedLines, SYSTEMD_RUNTIME_DIR, writeIfChanged } from './cell-watcher-script.js';

export interface InstallNamesOptions {
  /** namesUnit's content. */
  readonly unit: string;
  /** For tests. @default UNIT_DIR */
  readonly unitDir?: string;
  /** For tests. @default SYSTEMD_RUNTIME_DIR */
  readonly systemdRuntimeDir?: string;
}

/**
 * Installs and (re)starts the service. Never fails the step (a failed step may end the document
 * before the sync): whatever goes wrong is a line on stderr. Without the refresh, destinations by
 * host name allow nothing (their sets stay empty); every other rule is applied all the same.
 */
export function installNamesScript(options: InstallNamesOptions): string[] {
  const unitDir = options.unitDir ?? UNIT_DIR;
  return [
    'set -eu',
    `trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dynamic-egress: installing the host-name refresh failed (exit $status): destinations by host name allow nothing until it runs" >&2; exit 0; fi' EXIT`,
    `export PATH="${CELL_PATH}:$PATH"`,
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} echo 'dynamic-egress: systemd is not running on this cell: no host-name refresh, destinations by host name allow nothing' >&2; exit 0; fi`,
    'umask 022',
    'CHANGED=0',
    ...writeIfChanged(`${unitDir}/${NAMES_SERVICE}`, quotedLines(options.unit)),
    'FAILED=0',
    `if [ "$CHANGED" = 1 ]; then systemctl daemon-reload || FAILED=1; fi`,
    `systemctl reset-failed ${NAMES_SERVICE} >/dev/null 2>&1 || true`,
    `systemctl enable --now ${NAMES_SERVICE} || FAILED=1`,
    `if [ "$CHANGED" = 1 ]; then systemctl restart ${NAMES_SERVICE} || FAILED=1; fi`,
    `if [ "$FAILED" = 1 ]; then echo 'dynamic-egress: systemctl failed: the host-name refresh may not run (journalctl -u ${NAMES_SERVICE}); destinations by host name then allow nothing' >&2; fi`,
  ];
}

export interface RemoveNamesOptions {
  /** For tests. @default UNIT_DIR */
  readonly unitDir?: string;
  /** For tests. @default SYSTEMD_RUNTIME_DIR */
  readonly systemdRuntimeDir?: string;
}

/**
 * Stops and removes the service, then empties the host sets (HOST_SET_PREFIX): the rules in force stay
 * (as the uninstall document leaves them), but names nobody refreshes any more must not keep
 * their last addresses for ever, so they allow nothing until a refresh runs again.
 */
export function removeNamesScript(options: RemoveNamesOptions = {}): string[] {
  const unitDir = options.unitDir ?? UNIT_DIR;
  return [
    'set -eu',
    `export PATH="${CELL_PATH}:$PATH"`,
    `if [ -e ${unitDir}/${NAMES_SERVICE} ]; then`,
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} rm -f ${unitDir}/${NAMES_SERVICE}; else`,
    `systemctl disable --now ${NAMES_SERVICE} >/dev/null 2>&1 || true`,
    `rm -f ${unitDir}/${NAMES_SERVICE}`,
    'systemctl daemon-reload',
    `systemctl reset-failed ${NAMES_SERVICE} >/dev/null 2>&1 || true`,
    'fi',
    'fi',
    `if command -v ipset >/dev/null 2>&1; then for set in $(ipset list -n | grep '^${HOST_SET_PREFIX}'); do ipset flush "$set"; done; fi`,
    "echo 'dynamic-egress: host-name refresh removed (host sets emptied)'",
  ];
}
