// How one cell's proxy listens, resolves and reloads: the settings beside the rules, with their
// defaults in one place. Checked like the rules (each value reaches the configuration).
import { ValidationError } from '../../core/domain/errors.js';
import { isIpv4, parseCidr } from '../../core/domain/ipv4.js';
import { quote } from '../../core/domain/validation.js';
import type { DenyNetworks } from '../../core/plan/network-settings.js';

export interface ProxySettings {
  /** The address the listeners bind (REDIRECT sends to the receiving interface's address). @default '0.0.0.0' */
  readonly listenAddress?: string;
  /** Where intercepted http traffic arrives. @default DEFAULT_HTTP_PORT */
  readonly httpPort?: number;
  /** Where intercepted https traffic arrives. @default DEFAULT_HTTPS_PORT */
  readonly httpsPort?: number;
  /** The cell's resolvers (`ip` or `ip:port`): the proxy connects to what they answer for a matched name. */
  readonly nameservers: readonly string[];
  /**
   * CIDRs the proxy never connects to, whatever a name resolves to (a name pointed at the cell's own
   * loopback or at the instance metadata service must not open them). @default DEFAULT_REFUSED_NETWORKS
   */
  readonly refusedNetworks?: readonly string[];
  /**
   * CIDRs connections to which are never redirected to the proxy: the overlay, which containers
   * reach each other on without it (the filter rules leave that traffic alone too). @default []
   */
  readonly notIntercepted?: readonly string[];
  /** How long an answer is used before the name is asked again. @default DEFAULT_DNS_HOLD_SECONDS */
  readonly dnsHoldSeconds?: number;
  /**
   * After a reload, connections the previous workers still carry are closed after this long (HAProxy
   * `hard-stop-after`), so old workers do not pile up. @default DEFAULT_HARD_STOP_AFTER_SECONDS
   */
  readonly hardStopAfterSeconds?: number;
  /**
   * The UDP port on 127.0.0.1 (of the proxy's namespace) its refusals are logged to as JSON lines,
   * where `agent logs` listens and writes them enriched (agent/logging/proxy-log.ts). Nothing
   * listening drops them. @default DEFAULT_PROXY_LOG_PORT
   */
  readonly logPort?: number;
}

export const DEFAULT_LISTEN_ADDRESS = '0.0.0.0';
export const DEFAULT_HTTP_PORT = 15080;
export const DEFAULT_HTTPS_PORT = 15443;
export const DEFAULT_REFUSED_NETWORKS: readonly string[] = [
  '0.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '224.0.0.0/3',
];
export const DEFAULT_DNS_HOLD_SECONDS = 10;
export const DEFAULT_HARD_STOP_AFTER_SECONDS = 3600;
export const DEFAULT_PROXY_LOG_PORT = 15514;
export const MAX_NAMESERVERS = 4;

/** The settings with every default applied, checked. */
export type ResolvedProxySettings = Required<ProxySettings>;

const isPort = (value: number): boolean => Number.isInteger(value) && value >= 1 && value <= 65535;

export function resolveProxySettings(settings: ProxySettings): ResolvedProxySettings {
  const resolved: ResolvedProxySettings = {
    listenAddress: settings.listenAddress ?? DEFAULT_LISTEN_ADDRESS,
    httpPort: settings.httpPort ?? DEFAULT_HTTP_PORT,
    httpsPort: settings.httpsPort ?? DEFAULT_HTTPS_PORT,
    nameservers: settings.nameservers,
    refusedNetworks: settings.refusedNetworks ?? DEFAULT_REFUSED_NETWORKS,
    notIntercepted: settings.notIntercepted ?? [],
    dnsHoldSeconds: settings.dnsHoldSeconds ?? DEFAULT_DNS_HOLD_SECONDS,
    hardStopAfterSeconds: settings.hardStopAfterSeconds ?? DEFAULT_HARD_STOP_AFTER_SECONDS,
    logPort: settings.logPort ?? DEFAULT_PROXY_LOG_PORT,
  };
  const problems: string[] = [];
  if (!isIpv4(resolved.listenAddress))
    problems.push(`listenAddress must be an IPv4 address, got ${quote(String(resolved.listenAddress))}`);
  for (const name of ['httpPort', 'httpsPort', 'logPort'] as const) {
    if (!isPort(resolved[name])) problems.push(`${name} must be a port from 1 to 65535, got ${resolved[name]}`);
  }
  if (resolved.httpPort === resolved.httpsPort) problems.push('httpPort and httpsPort must differ');
  if (resolved.nameservers.length === 0 || resolved.nameservers.length > MAX_NAMESERVERS) {
    problems.push(`nameservers must list 1-${MAX_NAMESERVERS} servers`);
  }
  for (const server of resolved.nameservers) {
    const [address = '', port = '53', ...rest] = String(server).split(':');
    if (!isIpv4(address) || rest.length > 0 || !/^[0-9]{1,5}$/.test(port) || !isPort(Number(port))) {
      problems.push(`nameservers: must be ip or ip:port, got ${quote(String(server))}`);
    }
  }
  for (const name of ['refusedNetworks', 'notIntercepted'] as const) {
    for (const cidr of resolved[name]) {
      try {
        parseCidr(String(cidr));
      } catch {
        problems.push(`${name}: must be an IPv4 CIDR block, got ${quote(String(cidr))}`);
      }
    }
  }
  for (const name of ['dnsHoldSeconds', 'hardStopAfterSeconds'] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 1 || value > 86_400)
      problems.push(`${name} must be 1-86400 seconds, got ${value}`);
  }
  if (problems.length > 0) throw new ValidationError(`proxy settings: ${problems.join('; ')}`);
  return resolved;
}

/**
 * The settings a cell's proxy runs with: besides what they refuse already, the cell's deny networks
 * (of every lifecycle: the proxy does not tell them apart, so a staging-only deny network is refused
 * to running containers through the proxy too) and the overlay (containers reach each other without
 * it), so that a name resolving there opens nothing the filter rules would refuse; and connections to
 * the overlay are not redirected to it (container to container is the platform's, as in the filter).
 */
export function cellProxySettings(
  settings: ProxySettings,
  cell: { readonly overlayCidr: string; readonly denyNetworks: DenyNetworks },
): ProxySettings {
  const { always, running, staging } = cell.denyNetworks;
  const refused = [
    ...(settings.refusedNetworks ?? DEFAULT_REFUSED_NETWORKS),
    cell.overlayCidr,
    ...always,
    ...running,
    ...staging,
  ];
  return { ...settings, refusedNetworks: [...new Set(refused)], notIntercepted: [cell.overlayCidr] };
}
