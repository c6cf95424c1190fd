// The ulogd2 configuration that turns one NFLOG group into JSON lines in one file: the packets the
// agent's deny-log rules hand over (core/plan/deny-log.ts) are read by ulogd's NFLOG input, decoded by
// BASE, their addresses printed by IP2STR and written by JSON, one object per line, which `agent logs`
// enriches (log-forwarder.ts). Pure: the text only; the cell's install step writes and runs it
// (`ip netns exec NS ulogd -c FILE` for a namespace cell: NFLOG groups are per network namespace).

/** Where Debian's ulogd2 package puts its plugins (amd64). */
export const DEFAULT_ULOGD_PLUGIN_DIR = '/usr/lib/x86_64-linux-gnu/ulogd';
/** ulogd's own messages (not the packets). */
export const DEFAULT_ULOGD_LOGFILE = 'syslog';

/** The plugins of the stack, in stack order: input, decode, print addresses, output. */
export const ULOGD_PLUGINS = [
  'ulogd_inppkt_NFLOG.so',
  'ulogd_raw2packet_BASE.so',
  'ulogd_filter_IP2STR.so',
  'ulogd_output_JSON.so',
] as const;

export interface UlogdConfigOptions {
  /** The NFLOG group to read (the agent's `--log-group`). */
  readonly group: number;
  /** The file ulogd appends JSON lines to (`agent logs --input`). */
  readonly output: string;
  /** @default DEFAULT_ULOGD_PLUGIN_DIR */
  readonly pluginDir?: string;
  /** A file for ulogd's own messages, or `syslog`. @default DEFAULT_ULOGD_LOGFILE */
  readonly logfile?: string;
}

/**
 * Why `value` cannot be a quoted value in ulogd's config, or undefined. ulogd reads a quoted value up
 * to the next `"` and a line up to its end, so a quote or a line break would end the value early and
 * let the rest become configuration.
 */
export function configValueProblem(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  if (/["\\]/.test(value) || [...value].some((char) => char < ' ')) {
    return 'must not contain quotes, backslashes, line breaks or other control characters';
  }
  if (value.length > 255) return 'must be at most 255 characters';
  return undefined;
}

function quoted(name: string, value: string): string {
  const problem = configValueProblem(value);
  if (problem !== undefined) throw new Error(`ulogd config: ${name} ${problem}, got ${JSON.stringify(value)}`);
  return `"${value}"`;
}

export function renderUlogdConfig(options: UlogdConfigOptions): string {
  if (!Number.isInteger(options.group) || options.group < 1 || options.group > 65535) {
    throw new Error(`ulogd config: group must be an NFLOG group from 1 to 65535, got ${options.group}`);
  }
  const pluginDir = (options.pluginDir ?? DEFAULT_ULOGD_PLUGIN_DIR).replace(/\/+$/, '');
  return [
    `# dynamic-egress: packets of NFLOG group ${options.group} as JSON lines, read by \`agent logs\`.`,
    '# Written by `agent ulogd-config`; run one ulogd per network namespace with it.',
    '[global]',
    `logfile=${quoted('logfile', options.logfile ?? DEFAULT_ULOGD_LOGFILE)}`,
    'loglevel=3',
    ...ULOGD_PLUGINS.map((plugin) => `plugin=${quoted('plugin dir', `${pluginDir}/${plugin}`)}`),
    'stack=log1:NFLOG,base1:BASE,ip2str1:IP2STR,json1:JSON',
    '',
    '[log1]',
    `group=${options.group}`,
    '# Hand each packet over at once; by default the kernel batches them for up to a second.',
    'netlink_qthreshold=1',
    '',
    '[json1]',
    `file=${quoted('output', options.output)}`,
    '# Flush every line, so the forwarder sees it at once.',
    'sync=1',
    '',
  ].join('\n');
}
