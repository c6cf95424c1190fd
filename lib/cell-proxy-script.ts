// The cell proxy on an AWS cell (docs/proxy.md): the shell lines that install it (a step of the sync
// document when the CellAgent's `layer7Proxy` is on) and remove it (that step when it is off, and
// the uninstall document). HAProxy itself comes from the cell's image (`apt-get install haproxy`);
// the step only writes two units:
//   - dynamic-egress-proxy.service (agent/proxy/systemd-unit.ts): HAProxy on the configuration the
//     agent writes in PROXY_DIR, reloaded by the agent through its master;
//   - dynamic-egress-proxy.path: starts that service once the configuration exists, so a cell with
//     no http or https destination yet runs no proxy, and the first sync that writes one starts it.
// Like the other install steps nothing here fails the document: a line on stderr and exit 0. Without
// the proxy, http and https destinations allow nothing on the cell (their connections are refused).
import { PROXY_CHAIN, PROXY_HOOK_CHAIN, PROXY_HOOK_COMMENT } from '../agent/proxy/interception.js';
import { PROXY_DIR, PROXY_SERVICE, proxyUnit } from '../agent/proxy/systemd-unit.js';
import { CELL_PATH, UNIT_DIR } from './cell-units.js';
import { noSystemd, quotedLines, SYSTEMD_RUNTIME_DIR, writeIfChanged } from './cell-watcher-script.js';

export const PROXY_PATH_UNIT = 'dynamic-egress-proxy.path';

/** The path unit: starts the proxy service when the agent has written its first configuration. */
export function proxyPathUnit(dir: string = PROXY_DIR): string {
  if (!/^\/[A-Za-z0-9./_-]+$/.test(dir)) throw new Error(`proxyPathUnit: unsafe dir ${JSON.stringify(dir)}`);
  return [
    '[Unit]',
    "Description=dynamic-egress: start the cell's layer-7 proxy once the agent has configured it",
    '',
    '[Path]',
    `PathExists=${dir}/haproxy.cfg`,
    `Unit=${PROXY_SERVICE}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export interface ProxyScriptOptions {
  /** For tests. @default PROXY_DIR */
  readonly dir?: string;
  /** For tests. @default UNIT_DIR */
  readonly unitDir?: string;
  /** For tests. @default SYSTEMD_RUNTIME_DIR */
  readonly systemdRuntimeDir?: string;
}

const NOTHING_BY_NAME = 'http and https destinations allow nothing on this cell';

/** Installs (or updates) both units and enables the path unit; a changed service is restarted if it runs. */
export function installProxyScript(options: ProxyScriptOptions = {}): string[] {
  const dir = options.dir ?? PROXY_DIR;
  const unitDir = options.unitDir ?? UNIT_DIR;
  return [
    'set -eu',
    `trap 'status=$?; if [ "$status" -ne 0 ]; then echo "dynamic-egress: installing the cell proxy failed (exit $status): ${NOTHING_BY_NAME}" >&2; exit 0; fi' EXIT`,
    `export PATH="${CELL_PATH}:$PATH"`,
    `if ! command -v haproxy >/dev/null 2>&1; then echo 'dynamic-egress: haproxy is not installed (apt-get install haproxy): ${NOTHING_BY_NAME}' >&2; exit 0; fi`,
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} echo 'dynamic-egress: systemd is not running on this cell: no cell proxy, ${NOTHING_BY_NAME}' >&2; exit 0; fi`,
    'umask 022',
    `install -d -m 0700 ${dir}`,
    'CHANGED=0',
    ...writeIfChanged(`${unitDir}/${PROXY_SERVICE}`, quotedLines(proxyUnit({ dir }))),
    ...writeIfChanged(`${unitDir}/${PROXY_PATH_UNIT}`, quotedLines(proxyPathUnit(dir))),
    'FAILED=0',
    'if [ "$CHANGED" = 1 ]; then systemctl daemon-reload || FAILED=1; fi',
    `systemctl enable --now ${PROXY_PATH_UNIT} || FAILED=1`,
    `if [ "$CHANGED" = 1 ] && systemctl is-active --quiet ${PROXY_SERVICE}; then systemctl restart ${PROXY_SERVICE} || FAILED=1; fi`,
    `if [ "$FAILED" = 1 ]; then echo 'dynamic-egress: systemctl failed: the cell proxy may not run (journalctl -u ${PROXY_SERVICE}); ${NOTHING_BY_NAME} then' >&2; fi`,
  ];
}

/**
 * Stops and removes both units and the proxy's directory, and takes the redirects out of the nat
 * table (the agent's own `uninstall` does too): connections must not keep going to a closed port.
 */
export function removeProxyScript(options: ProxyScriptOptions = {}): string[] {
  const dir = options.dir ?? PROXY_DIR;
  const unitDir = options.unitDir ?? UNIT_DIR;
  return [
    'set -eu',
    `export PATH="${CELL_PATH}:$PATH"`,
    `if [ -e ${unitDir}/${PROXY_PATH_UNIT} ] || [ -e ${unitDir}/${PROXY_SERVICE} ]; then`,
    `${noSystemd(options.systemdRuntimeDir ?? SYSTEMD_RUNTIME_DIR)} rm -f ${unitDir}/${PROXY_PATH_UNIT} ${unitDir}/${PROXY_SERVICE}; else`,
    `systemctl disable --now ${PROXY_PATH_UNIT} ${PROXY_SERVICE} >/dev/null 2>&1 || true`,
    `rm -f ${unitDir}/${PROXY_PATH_UNIT} ${unitDir}/${PROXY_SERVICE}`,
    'systemctl daemon-reload',
    `systemctl reset-failed ${PROXY_SERVICE} >/dev/null 2>&1 || true`,
    'fi',
    'fi',
    `rm -rf ${dir}`,
    // Each line does nothing when there is nothing (a cell that never ran the proxy).
    'if command -v iptables >/dev/null 2>&1; then',
    `iptables -w -t nat -D ${PROXY_HOOK_CHAIN} -m comment --comment ${PROXY_HOOK_COMMENT} -j ${PROXY_CHAIN} >/dev/null 2>&1 || true`,
    `iptables -w -t nat -F ${PROXY_CHAIN} >/dev/null 2>&1 || true`,
    `iptables -w -t nat -X ${PROXY_CHAIN} >/dev/null 2>&1 || true`,
    'fi',
    "echo 'dynamic-egress: cell proxy removed'",
  ];
}
