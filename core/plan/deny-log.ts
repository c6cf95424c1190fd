// Logging of refused connections: the setting the agent plans with, its defaults and its text form.
// Each container chain sends what it is about to reject (to a deny network, or to anything its allow
// chains did not accept) to an NFLOG group through a `hashlimit` match by source address, one kernel
// table for every such rule, so a container gets `rate` lines however many of its rules refuse. The
// catch-all for unlisted overlay sources has one `limit` of its own for all of them. A log daemon
// (ulogd2) reads the group; `agent logs` enriches its lines (agent/logging/). Pure.

/** At most `count` log lines per `per`, burst 1. */
export interface LogRate {
  readonly count: number;
  readonly per: 'second' | 'minute';
}

export interface DenyLog {
  /** The NFLOG group the log daemon listens on (1-65535). */
  readonly group: number;
  readonly rate: LogRate;
}

/** `off`: no log rule at all. */
export type DenyLogSetting = DenyLog | 'off';

/** The NFLOG group ulogd listens on unless told otherwise. */
export const DEFAULT_LOG_GROUP = 100;
/** One line per second per container. */
export const DEFAULT_DENY_LOG_RATE: LogRate = { count: 1, per: 'second' };
export const DEFAULT_DENY_LOG: DenyLog = { group: DEFAULT_LOG_GROUP, rate: DEFAULT_DENY_LOG_RATE };
/** The `--nflog-prefix` of a refused connection's log line (the forwarder maps it to `egress-denied`). */
export const DENY_LOG_PREFIX = 'dyneg-denied';
/**
 * The `--nflog-prefix` of an accepted connection of a security group rule with `log: true` (the
 * forwarder maps it to `egress-allowed`). Only a connection's first packet reaches an allow chain
 * (the container chain accepts ESTABLISHED,RELATED first), so it logs once per connection or flow.
 */
export const ALLOW_LOG_PREFIX = 'dyneg-allowed';

/** The group allowed connections are logged to: the deny log's, or the default when that is off. */
export function allowLogGroup(denyLog: DenyLogSetting): number {
  return denyLog === 'off' ? DEFAULT_LOG_GROUP : denyLog.group;
}

/**
 * Bounds that `iptables-save` prints back exactly as rendered (the kernel keeps the rate as an
 * interval; above these, 3000/second would read back as 3333/sec), and far above a useful log rate.
 */
export const MAX_RATE: Readonly<Record<LogRate['per'], number>> = { second: 100, minute: 600 };
export const MAX_LOG_GROUP = 65535;

/**
 * The rate as `iptables-save` prints it: `N/sec` or `N/min` (a per-minute rate that is a whole
 * number per second reads back per second: 120/minute is `2/sec`).
 */
export function renderRate(rate: LogRate): string {
  if (rate.per === 'minute' && rate.count % 60 === 0) return `${rate.count / 60}/sec`;
  return `${rate.count}/${rate.per === 'second' ? 'sec' : 'min'}`;
}

/**
 * The kernel's `hashlimit` table for a per-source rate: named by the rate, because a rule finds an
 * existing table by name and keeps that table's rate, so a changed rate needs a table of its own (the
 * kernel frees the old one with its last rule). At most 15 characters (`dyneg-deny-599m`).
 */
export function limitTableName(rate: LogRate): string {
  const [count = '', per = ''] = renderRate(rate).split('/');
  return `dyneg-deny-${count}${per.charAt(0)}`;
}

/** `N/second`, `N/minute` or `off`; undefined when the text is none of them or out of bounds. */
export function parseDenyLogRate(text: string): LogRate | 'off' | undefined {
  if (text === 'off') return 'off';
  const match = /^([1-9][0-9]{0,3})\/(second|minute)$/.exec(text);
  if (match === null) return undefined;
  const per = match[2] === 'second' ? 'second' : 'minute';
  const count = Number(match[1]);
  return count <= MAX_RATE[per] ? { count, per } : undefined;
}

/** A decimal NFLOG group in 1-65535, or undefined. */
export function parseLogGroup(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,4}$/.test(text)) return undefined;
  const group = Number(text);
  return group <= MAX_LOG_GROUP ? group : undefined;
}
