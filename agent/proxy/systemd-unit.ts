// The cell's proxy as a systemd service, `dynamic-egress-proxy.service`: HAProxy in master-worker
// mode with systemd notification (`-Ws`), on the configuration the agent writes (haproxy-config.ts)
// in the proxy's directory, with the same pid file and master socket as `createProxyProcess` uses
// for that directory, so the agent can check, reload (SIGUSR2 to the master, as `ExecReload` does)
// and read its status either way. A configuration HAProxy refuses stops a start or a reload before
// it happens (`-c` first); the running workers stay. Pure: the text only; nothing installs it yet.
import { proxyPaths } from './haproxy-process.js';

export const PROXY_SERVICE = 'dynamic-egress-proxy.service';
/** The proxy's directory on a cell: configuration, pid file, master socket. */
export const PROXY_DIR = '/var/lib/dynamic-egress/proxy';
export const DEBIAN_HAPROXY = '/usr/sbin/haproxy';

export interface ProxyUnitOptions {
  /** @default PROXY_DIR */
  readonly dir?: string;
  /** @default DEBIAN_HAPROXY */
  readonly haproxy?: string;
}

/** Values land unquoted in the unit: no quote, space, `$`, `%`, `;` or line break. */
function safe(value: string): string {
  if (!/^\/[A-Za-z0-9./_-]+$/.test(value)) throw new Error(`proxyUnit: unsafe value ${JSON.stringify(value)}`);
  return value;
}

export function proxyUnit(options: ProxyUnitOptions = {}): string {
  const paths = proxyPaths(safe(options.dir ?? PROXY_DIR));
  const haproxy = safe(options.haproxy ?? DEBIAN_HAPROXY);
  const check = `${haproxy} -Ws -c -q -f ${paths.config}`;
  return [
    '[Unit]',
    "Description=dynamic-egress: the cell's layer-7 egress proxy (HAProxy: Host, SNI and HTTP routes)",
    'After=network-online.target',
    'Wants=network-online.target',
    // No start limit: a proxy that keeps failing is retried every RestartSec; while it is down,
    // intercepted connections are refused, never let through.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=notify',
    `ExecStartPre=${check}`,
    `ExecStart=${haproxy} -Ws -f ${paths.config} -p ${paths.pidFile} -S ${paths.socket}`,
    `ExecReload=${check}`,
    'ExecReload=/bin/kill -USR2 $MAINPID',
    // SIGTERM to the master only; it stops its workers. Then anything left is killed.
    'KillMode=mixed',
    'Restart=always',
    'RestartSec=5',
    'SuccessExitStatus=143',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
