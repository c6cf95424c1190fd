// The agent's command line: its commands, their options and checks. A new command is one more
// entry in AGENT_COMMANDS and one more member of AgentCommand.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isIpv4 } from '../core/domain/ipv4.js';
import { normalizeCidr } from '../core/plan/cidr.js';
import {
  DEFAULT_DENY_LOG_RATE,
  DEFAULT_LOG_GROUP,
  type DenyLogSetting,
  MAX_LOG_GROUP,
  MAX_RATE,
  parseDenyLogRate,
  parseLogGroup,
} from '../core/plan/deny-log.js';
import { parseDenyNetworks } from '../core/plan/deny-networks.js';
import {
  DEFAULT_OVERLAY_CIDR,
  DEFAULT_UNKNOWN_SOURCES,
  type DenyNetworks,
  isUnknownSources,
  NO_DENY_NETWORKS,
  UNKNOWN_SOURCES,
  type UnknownSources,
} from '../core/plan/plan.js';
import type { AgentMode } from './cell-agent.js';
import { command, helpOf, type OptionValues, parseCommandLine, usageOf } from './command-line.js';
import { UsageError } from './errors.js';
import { configValueProblem, DEFAULT_ULOGD_LOGFILE, DEFAULT_ULOGD_PLUGIN_DIR } from './logging/ulogd-config.js';
import { DEFAULT_NAME_POLICY, type NamePolicy } from './names/name-state.js';
import { SYNC_NAMES_FILE } from './names/names-file.js';
import { DEFAULT_PROXY_LOG_PORT } from './proxy/settings.js';
import { DEFAULT_VERIFY, isVerify, VERIFY_LEVELS, type Verify } from './recorded-sync.js';
import { DEFAULT_REQUESTS_DIR } from './serve/requests.js';

/** `sync --policies FILE --containers FILE`: desired state from two files (tests, manual runs). */
export interface SyncFromFiles {
  readonly command: 'sync';
  /** A path, or `-` for standard input. */
  readonly policies: string;
  readonly containers: string;
  readonly overlayCidr: string;
  readonly unknownSources: UnknownSources;
  readonly verify: Verify;
  readonly denyLog: DenyLogSetting;
  readonly denyNetworks: DenyNetworks;
  readonly dryRun: boolean;
  readonly netns: string | undefined;
  /** Where the names document for `agent names` is written (sync.ts); undefined: not written. */
  readonly namesFile: string | undefined;
}

/** What `sync --from-dynamodb` and `serve` share: the table, the cell, what the rules enforce, the proxy. */
export interface TableSyncSettings {
  readonly table: string;
  readonly containers: string;
  readonly stateDir: string;
  readonly cellName: string;
  readonly overlayCidr: string;
  readonly unknownSources: UnknownSources;
  readonly denyLog: DenyLogSetting;
  readonly denyNetworks: DenyNetworks;
  readonly netns: string | undefined;
  /** The cell's layer-7 proxy (`--proxy-dir`); undefined, http and https destinations allow nothing. */
  readonly proxy: SyncProxyArgs | undefined;
}

/** `sync --from-dynamodb …`: what SSM runs on a cell (see cli-sync-table.ts). */
export interface SyncFromTable extends TableSyncSettings {
  readonly command: 'sync --from-dynamodb';
  readonly minVersion: number;
  readonly verify: Verify;
  readonly mode: AgentMode;
}

/**
 * `serve …`: the cell's resident agent (agent/serve/): `sync --from-dynamodb` for every request left
 * in a folder, keeping what a sync may reuse (sync-memory.ts) between them.
 */
export interface Serve extends TableSyncSettings {
  readonly command: 'serve';
  /** The folder requests arrive in and results are left in (serve/requests.ts). */
  readonly requests: string;
  /** How long one sync waits for the cell's sync lock (`<state-dir>/sync.lock`). */
  readonly lockWaitSeconds: number;
  /** How long one sync may hold the lock before the agent gives it up and exits (cli-serve.ts). */
  readonly syncTimeoutSeconds: number;
}

/**
 * `sync --from-cache …`: what the cell's boot unit runs before the network is up (cli-sync-cache.ts):
 * the snapshot the cell last applied, from its own copy; nothing read from the table, nothing reported.
 */
export interface SyncFromCache {
  readonly command: 'sync --from-cache';
  readonly containers: string;
  readonly stateDir: string;
  readonly overlayCidr: string;
  readonly unknownSources: UnknownSources;
  readonly denyLog: DenyLogSetting;
  readonly denyNetworks: DenyNetworks;
  readonly dryRun: boolean;
  readonly netns: string | undefined;
}

export interface SyncProxyArgs {
  readonly dir: string;
  /** `--proxy-nameservers`; undefined: those of /etc/resolv.conf, read when the sync runs. */
  readonly nameservers: readonly string[] | undefined;
  /** `--proxy-start`: the agent starts HAProxy itself when it is down, instead of leaving that to its unit. */
  readonly manage: 'start' | 'service';
}

/** `uninstall`: remove every chain, set and the hook the agent made (see uninstall.ts). */
export interface Uninstall {
  readonly command: 'uninstall';
  readonly dryRun: boolean;
  readonly netns: string | undefined;
}

/** `logs`: follow ulogd's JSON output and write it enriched with container identities (logging/). */
export interface Logs {
  readonly command: 'logs';
  readonly containers: string;
  readonly input: string;
  /** Undefined: standard output. */
  readonly output: string | undefined;
  readonly fromStart: boolean;
  /** Where the read position is kept between runs; undefined: none. */
  readonly positionFile: string | undefined;
  /** The cell proxy's refusals, on 127.0.0.1 UDP; undefined: not listened for. */
  readonly proxyPort: number | undefined;
}

/** `ulogd-config`: print the ulogd2 configuration for one NFLOG group (logging/ulogd-config.ts). */
export interface UlogdConfig {
  readonly command: 'ulogd-config';
  readonly group: number;
  readonly jsonFile: string;
  readonly pluginDir: string;
  readonly logfile: string;
}

/** `names`: keep one ipset per destination with host names at its names' current addresses (names/). */
export interface Names {
  readonly command: 'names';
  readonly names: string;
  readonly stateDir: string;
  /**
   * The names file is the sync's document (names-file.ts: SYNC_NAMES_FILE): a missing one is no
   * destinations yet, and host sets no destination wants are left for the sync to destroy.
   */
  readonly fromSync: boolean;
  /** One pass, then exit; else passes until SIGTERM. */
  readonly once: boolean;
  /** Undefined: those of /etc/resolv.conf. */
  readonly nameservers: readonly string[] | undefined;
  /** Networks no answer may add: the overlay and the deny networks' `always` list. */
  readonly never: readonly string[];
  readonly policy: NamePolicy;
}

/** `--help` anywhere: print `text`, run nothing. */
export interface Help {
  readonly command: 'help';
  readonly text: string;
}

export type AgentCommand =
  | SyncFromFiles
  | SyncFromTable
  | Serve
  | SyncFromCache
  | Uninstall
  | Logs
  | UlogdConfig
  | Names
  | Help;

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** Cell and namespace names become process arguments (never a shell word); held to a safe alphabet anyway. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The overlay network as a normalized CIDR block, or a UsageError naming the flag. */
export function overlayCidrArgument(value: string): string {
  try {
    return normalizeCidr(value);
  } catch {
    throw new UsageError(
      `--overlay-cidr: must be an IPv4 CIDR block such as ${DEFAULT_OVERLAY_CIDR}, got ${JSON.stringify(value)}`,
    );
  }
}

/** What happens to overlay sources the containers file does not list, or a UsageError naming the flag. */
export function unknownSourcesArgument(value: string): UnknownSources {
  if (isUnknownSources(value)) return value;
  throw new UsageError(`--unknown-sources: must be ${UNKNOWN_SOURCES.join(' or ')}, got ${JSON.stringify(value)}`);
}

/** How much of the kernel a sync reads back, or a UsageError naming the flag. */
export function verifyArgument(value: string): Verify {
  if (isVerify(value)) return value;
  throw new UsageError(`--verify: must be ${VERIFY_LEVELS.join(' or ')}, got ${JSON.stringify(value)}`);
}

/** `--deny-log-rate` and `--log-group` as one setting, or a UsageError naming the flag. */
export function denyLogArgument(rate: string, group: string): DenyLogSetting {
  const parsedRate = parseDenyLogRate(rate);
  if (parsedRate === undefined) {
    throw new UsageError(
      `--deny-log-rate: must be N/second (N at most ${MAX_RATE.second}), N/minute (at most ${MAX_RATE.minute}) or off, got ${JSON.stringify(rate)}`,
    );
  }
  const parsedGroup = parseLogGroup(group);
  if (parsedGroup === undefined) {
    throw new UsageError(
      `--log-group: must be an NFLOG group from 1 to ${MAX_LOG_GROUP}, got ${JSON.stringify(group)}`,
    );
  }
  return parsedRate === 'off' ? 'off' : { group: parsedGroup, rate: parsedRate };
}

/** `--deny-networks` JSON as the plan takes it, or a UsageError naming the flag and the problem. */
export function denyNetworksArgument(value: string | undefined): DenyNetworks {
  if (value === undefined) return NO_DENY_NETWORKS;
  try {
    return parseDenyNetworks(value);
  } catch (error) {
    const problem = error instanceof Error ? error.message.split('\n').join('; ') : String(error);
    throw new UsageError(`--deny-networks: ${problem}`);
  }
}

function safeName(flag: string, value: string): string {
  if (!SAFE_NAME.test(value)) {
    throw new UsageError(`--${flag}: must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(value)}`);
  }
  return value;
}

function netnsArgument(value: string | undefined): string | undefined {
  return value === undefined ? undefined : safeName('netns', value);
}

/** A string option that must be given and not be empty. */
function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Options every command that touches the kernel takes. */
const NETNS = {
  type: 'string',
  value: 'NS',
  description: 'program the kernel of this network namespace (`ip netns exec NS`)',
  defaultText: 'the current one',
} as const;
const OVERLAY_CIDR = {
  type: 'string',
  default: DEFAULT_OVERLAY_CIDR,
  value: 'CIDR',
  description: 'the container network; traffic to it is not egress, containers must be in it',
} as const;
const UNKNOWN = {
  type: 'string',
  default: DEFAULT_UNKNOWN_SOURCES,
  value: 'reject|allow',
  description: 'new connections from overlay sources the containers file does not list',
} as const;
const VERIFY = {
  type: 'string',
  default: DEFAULT_VERIFY,
  value: 'cheap|full',
  description:
    'cheap: unchanged inputs are checked against the record the last sync left (hook, root chain, set sizes); full: read back and diff every rule and set member',
} as const;
const DENY_LOG_RATE = {
  type: 'string',
  default: `${DEFAULT_DENY_LOG_RATE.count}/${DEFAULT_DENY_LOG_RATE.per}`,
  value: 'N/second|N/minute|off',
  description: 'log refused connections to NFLOG at most this often per container (see `agent logs`)',
} as const;
const LOG_GROUP = {
  type: 'string',
  default: `${DEFAULT_LOG_GROUP}`,
  value: 'N',
  description: 'the NFLOG group the log daemon (ulogd) listens on',
} as const;
const DENY_NETWORKS = {
  type: 'string',
  value: 'JSON',
  defaultText: 'none',
  description:
    'networks no container may open connections to, whatever allows them: {"always":[CIDR...],"running":[...],"staging":[...]}',
} as const;
const STATE_DIR = {
  type: 'string',
  value: 'DIR',
  required: true,
  description: 'where the cell keeps the version and snapshot it applied last',
} as const;
const CELL_DRY_RUN = {
  type: 'boolean',
  default: false,
  description: 'read the kernel, print what would change, change nothing',
} as const;
const CONTAINERS = {
  type: 'string',
  value: 'FILE',
  required: true,
  description: "the cell's container metadata store (store.json)",
} as const;

const syncFromFiles = command({
  name: 'sync',
  usage:
    'sync --policies FILE|- --containers FILE [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--verify cheap|full] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--netns NS] [--names-file FILE] [--dry-run]',
  summary: 'apply the policies of a file (or stdin) to the containers of this cell',
  notes: ['On success prints one JSON log line ("rules applied") with what changed; --dry-run prints the payload.'],
  options: {
    policies: {
      type: 'string',
      value: 'FILE|-',
      required: true,
      description: 'the policies (GET /networking/v1/external/egress_policies body); - reads stdin',
    },
    containers: CONTAINERS,
    'overlay-cidr': OVERLAY_CIDR,
    'unknown-sources': UNKNOWN,
    verify: VERIFY,
    'deny-log-rate': DENY_LOG_RATE,
    'log-group': LOG_GROUP,
    'deny-networks': DENY_NETWORKS,
    netns: NETNS,
    'names-file': {
      type: 'string',
      value: 'FILE',
      description:
        'write the destinations whose host names the rules match there, for `agent names --from-sync --names FILE` (sync --from-dynamodb writes <state-dir>/host-names.json)',
    },
    'dry-run': {
      type: 'boolean',
      default: false,
      description: 'print what would change (a readable diff, then the payload), change nothing',
    },
  },
  build: (values): SyncFromFiles => {
    if (values.policies === undefined) throw new UsageError('--policies FILE is required');
    if (values.containers === undefined) throw new UsageError('--containers FILE is required');
    return {
      command: 'sync',
      policies: values.policies,
      containers: values.containers,
      overlayCidr: overlayCidrArgument(values['overlay-cidr']),
      unknownSources: unknownSourcesArgument(values['unknown-sources']),
      verify: verifyArgument(values.verify),
      denyLog: denyLogArgument(values['deny-log-rate'], values['log-group']),
      denyNetworks: denyNetworksArgument(values['deny-networks']),
      dryRun: values['dry-run'],
      netns: netnsArgument(values.netns),
      namesFile: values['names-file'] === '' ? undefined : values['names-file'],
    };
  },
});

/** The options `sync --from-dynamodb` and `serve` share (TableSyncSettings). */
const TABLE_SYNC_OPTIONS = {
  table: { type: 'string', value: 'NAME', required: true, description: 'the policy table (DynamoDB)' },
  containers: CONTAINERS,
  'state-dir': STATE_DIR,
  'cell-name': {
    type: 'string',
    value: 'NAME',
    defaultText: "this host's name",
    description: 'the name this cell reports under',
  },
  'overlay-cidr': OVERLAY_CIDR,
  'unknown-sources': UNKNOWN,
  'deny-log-rate': DENY_LOG_RATE,
  'log-group': LOG_GROUP,
  'deny-networks': DENY_NETWORKS,
  'proxy-dir': {
    type: 'string',
    value: 'DIR',
    description: "enforce http and https destinations with the cell's HAProxy, configured in DIR (docs/proxy.md)",
  },
  'proxy-nameservers': {
    type: 'string',
    value: 'IP[,IP…]',
    defaultText: 'the nameservers of /etc/resolv.conf',
    description: 'the resolvers the proxy asks for the names it allows (IPv4, at most 3)',
  },
  'proxy-start': {
    type: 'boolean',
    default: false,
    description: 'start HAProxy when it is not running (without: its systemd unit runs it)',
  },
  netns: NETNS,
} as const;

function tableSyncSettings(values: OptionValues<typeof TABLE_SYNC_OPTIONS>): TableSyncSettings {
  const table = required('table', values.table);
  if (!TABLE_NAME.test(table)) throw new UsageError(`--table: not a DynamoDB table name: ${JSON.stringify(table)}`);
  return {
    table,
    containers: required('containers', values.containers),
    stateDir: required('state-dir', values['state-dir']),
    cellName: safeName('cell-name', values['cell-name'] ?? hostname()),
    overlayCidr: overlayCidrArgument(values['overlay-cidr']),
    unknownSources: unknownSourcesArgument(values['unknown-sources']),
    denyLog: denyLogArgument(values['deny-log-rate'], values['log-group']),
    denyNetworks: denyNetworksArgument(values['deny-networks']),
    netns: netnsArgument(values.netns),
    proxy: proxyArguments(values['proxy-dir'], values['proxy-nameservers'], values['proxy-start']),
  };
}

const TABLE_SYNC_USAGE =
  '--table NAME --containers FILE --state-dir DIR [--cell-name NAME] [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--proxy-dir DIR [--proxy-nameservers IP[,IP…]] [--proxy-start]] [--netns NS]';

const syncFromTable = command({
  name: 'sync',
  form: 'from-dynamodb',
  usage: `sync --from-dynamodb ${TABLE_SYNC_USAGE} [--min-version N] [--verify cheap|full] [--dry-run | --render-only]`,
  summary: 'apply the newest policy snapshot of the policy table, record and report it (what SSM runs)',
  notes: [
    'Region and endpoint come from the AWS environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB).',
    'Ends with one JSON log line ("cell synced"): version, rules, sets, what changed, durationMs.',
  ],
  options: {
    'from-dynamodb': { type: 'boolean', description: 'selects this form of sync' },
    ...TABLE_SYNC_OPTIONS,
    'min-version': {
      type: 'string',
      default: '0',
      value: 'N',
      description: 'warn if the table offers an older policy version',
    },
    verify: VERIFY,
    'dry-run': CELL_DRY_RUN,
    'render-only': {
      type: 'boolean',
      default: false,
      description: 'read no kernel: print the whole ruleset as against an empty one',
    },
  },
  build: (values): SyncFromTable => {
    const settings = tableSyncSettings(values);
    if (values['dry-run'] && values['render-only']) {
      throw new UsageError('--dry-run and --render-only exclude each other');
    }
    return {
      command: 'sync --from-dynamodb',
      ...settings,
      minVersion: minVersionArgument(values['min-version']),
      verify: verifyArgument(values.verify),
      mode: values['render-only'] ? 'render-only' : values['dry-run'] ? 'dry-run' : 'apply',
    };
  },
});

/** `--min-version` as a number, or a UsageError naming the flag. */
function minVersionArgument(value: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    throw new UsageError(`--min-version: must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

const serve = command({
  name: 'serve',
  usage: `serve ${TABLE_SYNC_USAGE} [--requests DIR] [--lock-wait S] [--sync-timeout S]`,
  summary:
    "stay resident and run `sync --from-dynamodb` for each request left in a folder, reusing the last sync's plan (what the cell's agent service runs)",
  notes: [
    'A request is a file <id>.request holding "<min-version> <cheap|full>"; its result is <id>.out, <id>.err and, last, <id>.code (docs/agent.md, "The resident agent: agent serve").',
    'Requests waiting together are answered by one sync. Each sync holds <state-dir>/sync.lock, as every other sync of the cell does.',
    'Region and endpoint come from the AWS environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB).',
  ],
  options: {
    ...TABLE_SYNC_OPTIONS,
    requests: {
      type: 'string',
      value: 'DIR',
      default: DEFAULT_REQUESTS_DIR,
      description: 'where requests arrive and results are left (created 0700 when missing)',
    },
    'lock-wait': {
      type: 'string',
      value: 'S',
      default: '600',
      description: "how long one sync waits for the cell's sync lock",
    },
    'sync-timeout': {
      type: 'string',
      value: 'S',
      default: '300',
      description: 'a sync still running after this long is given up: its requests get exit 3 and the agent exits',
    },
  },
  build: (values): Serve => ({
    command: 'serve',
    ...tableSyncSettings(values),
    requests: required('requests', values.requests),
    lockWaitSeconds: secondsArgument('lock-wait', values['lock-wait'], 1, 86400) / 1000,
    syncTimeoutSeconds: secondsArgument('sync-timeout', values['sync-timeout'], 1, 86400) / 1000,
  }),
});

const syncFromCache = command({
  name: 'sync',
  form: 'from-cache',
  usage:
    'sync --from-cache --containers FILE --state-dir DIR [--overlay-cidr CIDR] [--unknown-sources reject|allow] [--deny-log-rate N/second|N/minute|off] [--log-group N] [--deny-networks JSON] [--netns NS] [--dry-run]',
  summary:
    'apply the snapshot this cell last applied, from its own copy in the state dir, without the table (what the boot unit runs)',
  notes: [
    'Without a usable copy no policy applies: containers reach nothing until the next sync --from-dynamodb.',
    'A missing or refused containers file lists no container (exit 0 when missing, 1 when refused).',
    "Nothing is reported, and http/https destinations allow nothing: the proxy's nat redirects are removed (its configuration is left alone) and the next sync --from-dynamodb runs the proxy step again.",
    'Ends with one JSON log line ("cell synced", origin cache or empty).',
  ],
  options: {
    'from-cache': { type: 'boolean', description: 'selects this form of sync' },
    containers: CONTAINERS,
    'state-dir': STATE_DIR,
    'overlay-cidr': OVERLAY_CIDR,
    'unknown-sources': UNKNOWN,
    'deny-log-rate': DENY_LOG_RATE,
    'log-group': LOG_GROUP,
    'deny-networks': DENY_NETWORKS,
    'dry-run': CELL_DRY_RUN,
    netns: NETNS,
  },
  build: (values): SyncFromCache => ({
    command: 'sync --from-cache',
    containers: required('containers', values.containers),
    stateDir: required('state-dir', values['state-dir']),
    overlayCidr: overlayCidrArgument(values['overlay-cidr']),
    unknownSources: unknownSourcesArgument(values['unknown-sources']),
    denyLog: denyLogArgument(values['deny-log-rate'], values['log-group']),
    denyNetworks: denyNetworksArgument(values['deny-networks']),
    dryRun: values['dry-run'],
    netns: netnsArgument(values.netns),
  }),
});

function proxyArguments(
  dir: string | undefined,
  nameservers: string | undefined,
  start: boolean,
): SyncProxyArgs | undefined {
  if (dir === undefined) {
    if (nameservers !== undefined || start)
      throw new UsageError('--proxy-nameservers and --proxy-start need --proxy-dir');
    return undefined;
  }
  // The directory lands in HAProxy's command line and configuration (haproxy-process.ts checks it again).
  if (!/^\/[A-Za-z0-9._/-]{1,80}$/.test(dir) || dir.split('/').includes('..')) {
    throw new UsageError(
      `--proxy-dir: must be an absolute path of letters, digits, ".", "_", "-" and "/", got ${JSON.stringify(dir)}`,
    );
  }
  return {
    dir,
    nameservers: nameserversArgument('proxy-nameservers', nameservers),
    manage: start ? 'start' : 'service',
  };
}

const uninstall = command({
  name: 'uninstall',
  usage: 'uninstall [--netns NS] [--dry-run]',
  summary: "remove every chain, ipset and hook the agent made (the proxy's nat redirects too); operators' rules stay",
  notes: [
    'Exit 0 when there is nothing to remove. Systemd units and files are not touched: remove those',
    'as docs/deploy.md describes.',
  ],
  options: {
    netns: NETNS,
    'dry-run': { type: 'boolean', default: false, description: 'print what would be removed, remove nothing' },
  },
  build: (values): Uninstall => ({
    command: 'uninstall',
    dryRun: values['dry-run'],
    netns: netnsArgument(values.netns),
  }),
});

const logs = command({
  name: 'logs',
  usage:
    'logs --containers FILE --input FILE [--output FILE] [--from-start] [--position-file FILE] [--proxy-port N|off]',
  summary: "follow ulogd's JSON lines of refused connections and write them with the container's identity",
  notes: [
    "Runs until SIGTERM or SIGINT (exit 0). Lines are shaped as Cloud Foundry's iptables-logger writes them;",
    'ulogd reads the NFLOG group of `sync --log-group` (see `ulogd-config`). Follows rotation and truncation.',
    "Also writes the cell proxy's refusals (http and https by name), which it logs to 127.0.0.1:<proxy-port> UDP.",
  ],
  options: {
    containers: CONTAINERS,
    input: { type: 'string', value: 'FILE', required: true, description: "ulogd's JSON output file" },
    output: {
      type: 'string',
      value: 'FILE',
      defaultText: 'standard output',
      description: 'append the enriched lines to this file',
    },
    'from-start': {
      type: 'boolean',
      default: false,
      description: 'read an existing input file from its start, not its end',
    },
    'position-file': {
      type: 'string',
      value: 'FILE',
      description: 'keep the read position here, and go on from it at the next start (no line lost meanwhile)',
    },
    'proxy-port': {
      type: 'string',
      value: 'N|off',
      default: String(DEFAULT_PROXY_LOG_PORT),
      description: "the UDP port on 127.0.0.1 the cell proxy logs its refusals to; off: don't listen",
    },
  },
  build: (values): Logs => ({
    command: 'logs',
    containers: required('containers', values.containers),
    input: required('input', values.input),
    output: values.output === undefined ? undefined : required('output', values.output),
    fromStart: values['from-start'],
    positionFile:
      values['position-file'] === undefined ? undefined : required('position-file', values['position-file']),
    proxyPort: proxyPortArgument(values['proxy-port']),
  }),
});

function proxyPortArgument(value: string): number | undefined {
  if (value === 'off') return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new UsageError(`--proxy-port: must be a port from 1 to 65535 or off, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function ulogdValue(flag: string, value: string): string {
  const problem = configValueProblem(value);
  if (problem !== undefined) throw new UsageError(`--${flag}: ${problem}, got ${JSON.stringify(value)}`);
  return value;
}

const ulogdConfig = command({
  name: 'ulogd-config',
  usage: 'ulogd-config --json-file FILE [--log-group N] [--plugin-dir DIR] [--logfile FILE|syslog]',
  summary: 'print the ulogd2 configuration that writes one NFLOG group as JSON lines (for `logs --input`)',
  notes: ['Run one ulogd per network namespace: `ip netns exec NS ulogd -c FILE` (NFLOG groups are per namespace).'],
  options: {
    'json-file': {
      type: 'string',
      value: 'FILE',
      required: true,
      description: 'where ulogd appends the JSON lines (`logs --input`)',
    },
    'log-group': LOG_GROUP,
    'plugin-dir': {
      type: 'string',
      value: 'DIR',
      default: DEFAULT_ULOGD_PLUGIN_DIR,
      description: "ulogd's plugin directory",
    },
    logfile: {
      type: 'string',
      value: 'FILE|syslog',
      default: DEFAULT_ULOGD_LOGFILE,
      description: 'where ulogd writes its own messages',
    },
  },
  build: (values): UlogdConfig => {
    const group = parseLogGroup(values['log-group']);
    if (group === undefined) {
      throw new UsageError(
        `--log-group: must be an NFLOG group from 1 to ${MAX_LOG_GROUP}, got ${JSON.stringify(values['log-group'])}`,
      );
    }
    return {
      command: 'ulogd-config',
      group,
      jsonFile: ulogdValue('json-file', required('json-file', values['json-file'])),
      pluginDir: ulogdValue('plugin-dir', values['plugin-dir']),
      logfile: ulogdValue('logfile', values.logfile),
    };
  },
});

/** Seconds with at most three decimals, within [min, max], as milliseconds; or a UsageError naming the flag. */
function secondsArgument(flag: string, value: string, min: number, max: number): number {
  const seconds = Number(value);
  if (!/^\d{1,6}(\.\d{1,3})?$/.test(value) || seconds < min || seconds > max) {
    throw new UsageError(`--${flag}: must be a number of seconds from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Math.round(seconds * 1000);
}

const seconds = (ms: number): string => `${ms / 1000}`;

const NAMESERVER = /^\d{1,3}(\.\d{1,3}){3}$/;

/** 1-3 IPv4 addresses separated by commas, or a UsageError naming the flag; undefined when not given. */
function nameserversArgument(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const nameservers = value.split(',');
  if (nameservers.length > 3 || !nameservers.every((server) => NAMESERVER.test(server) && isIpv4(server))) {
    throw new UsageError(`--${flag}: must be 1-3 IPv4 addresses separated by commas, got ${JSON.stringify(value)}`);
  }
  return nameservers;
}

const names = command({
  name: 'names',
  usage:
    'names (--names FILE | --from-sync) --state-dir DIR [--once] [--nameservers IP[,IP…]] [--overlay-cidr CIDR] [--deny-networks JSON] [--ttl-floor S] [--grace S] [--max-addresses N] [--min-refresh S] [--max-refresh S]',
  summary: 'keep one ipset per destination with host names at the current addresses of its names (runs until SIGTERM)',
  notes: [
    '`sync` matches these sets (dyneg-h-…) for tcp/udp destinations with exact hosts, creates them empty and writes',
    'the names document host-names.json in its state directory; `--from-sync` follows it (checked every 250 ms),',
    'and `sync` destroys the sets its rules stopped using. `uninstall` removes them all.',
    'Resolves with the nameservers of /etc/resolv.conf (inside `ip netns exec NS`, /etc/netns/NS/resolv.conf):',
    'run it inside the namespace whose resolver and kernel it serves. One JSON log line per pass that changed a set.',
  ],
  options: {
    names: {
      type: 'string',
      value: 'FILE',
      description:
        'the destinations with hosts: {"destinations":[{"id":…,"hosts":[…]}]}, read again every pass and when it changes',
    },
    'from-sync': {
      type: 'boolean',
      default: false,
      description:
        "follow the sync's names document (--names defaults to <state-dir>/host-names.json; missing: nothing yet) and leave unused sets to the sync",
    },
    'state-dir': {
      type: 'string',
      value: 'DIR',
      required: true,
      description: 'where names.json keeps each address and its expiry across restarts',
    },
    once: { type: 'boolean', default: false, description: 'run one pass, print when the next is due, exit' },
    nameservers: {
      type: 'string',
      value: 'IP[,IP…]',
      defaultText: 'the nameservers of /etc/resolv.conf',
      description: 'the resolvers to ask (IPv4, at most 3)',
    },
    'overlay-cidr': { ...OVERLAY_CIDR, description: 'the container network: no answer may add an address in it' },
    'deny-networks': {
      ...DENY_NETWORKS,
      description: 'as for sync: no answer may add an address of its `always` list',
    },
    'ttl-floor': {
      type: 'string',
      value: 'S',
      default: seconds(DEFAULT_NAME_POLICY.ttlFloorMs),
      description: 'an answer counts for at least this many seconds, whatever its TTL',
    },
    grace: {
      type: 'string',
      value: 'S',
      default: seconds(DEFAULT_NAME_POLICY.graceMs),
      description: 'an address no answer renews stays allowed this long after its expiry',
    },
    'max-addresses': {
      type: 'string',
      value: 'N',
      default: String(DEFAULT_NAME_POLICY.maxAddresses),
      description: 'addresses kept per name (the newest answer first)',
    },
    'min-refresh': {
      type: 'string',
      value: 'S',
      default: seconds(DEFAULT_NAME_POLICY.minRefreshMs),
      description: 'the shortest pause between two passes',
    },
    'max-refresh': {
      type: 'string',
      value: 'S',
      default: seconds(DEFAULT_NAME_POLICY.maxRefreshMs),
      description: 'the longest pause between two passes',
    },
  },
  build: (values): Names => {
    const maxAddresses = values['max-addresses'];
    if (!/^\d{1,4}$/.test(maxAddresses) || Number(maxAddresses) < 1 || Number(maxAddresses) > 4096) {
      throw new UsageError(
        `--max-addresses: must be a whole number from 1 to 4096, got ${JSON.stringify(maxAddresses)}`,
      );
    }
    const minRefreshMs = secondsArgument('min-refresh', values['min-refresh'], 0.1, 3600);
    const maxRefreshMs = secondsArgument('max-refresh', values['max-refresh'], 0.1, 86400);
    if (maxRefreshMs < minRefreshMs) throw new UsageError('--max-refresh: must not be shorter than --min-refresh');
    const nameservers = nameserversArgument('nameservers', values.nameservers);
    const denyNetworks = denyNetworksArgument(values['deny-networks']);
    const stateDir = required('state-dir', values['state-dir']);
    const fromSync = values['from-sync'];
    return {
      command: 'names',
      names: fromSync ? (values.names ?? join(stateDir, SYNC_NAMES_FILE)) : required('names', values.names),
      stateDir,
      fromSync,
      once: values.once,
      nameservers,
      never: [...new Set([overlayCidrArgument(values['overlay-cidr']), ...denyNetworks.always])],
      policy: {
        ...DEFAULT_NAME_POLICY,
        ttlFloorMs: secondsArgument('ttl-floor', values['ttl-floor'], 0.1, 86400),
        graceMs: secondsArgument('grace', values.grace, 0, 86400),
        maxAddresses: Number(maxAddresses),
        minRefreshMs,
        maxRefreshMs,
      },
    };
  },
});

/** Usage lines follow this order. */
const AGENT_COMMANDS = [
  syncFromFiles,
  syncFromTable,
  serve,
  syncFromCache,
  uninstall,
  logs,
  ulogdConfig,
  names,
] as const;

export const USAGE = usageOf('agent', AGENT_COMMANDS);

export function parseAgentArgs(argv: readonly string[]): AgentCommand {
  const help = helpOf('agent', AGENT_COMMANDS, argv);
  if (help !== undefined) return { command: 'help', text: help };
  return parseCommandLine<AgentCommand>(AGENT_COMMANDS, argv);
}
