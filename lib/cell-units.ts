// The systemd units of a cell's agent. A path unit watching the containers file and a oneshot service
// make a cell sync when a container is created or destroyed, instead of waiting for the next command
// or association run: the service hands the sync (MinVersion 0) to the resident agent, a service of its
// own running `agent serve` (cell-resident.ts), or runs the SSM document's agent command itself when
// that does not answer. A boot unit applies the cell's own copy before the network is up.
// Pure: the document writes what these functions return; tests read and verify the same text.
//
// Two systemd behaviours shape the service:
// - While the service runs, the path unit does not watch (it is "running", not "waiting"), so a
//   change made during a sync would be missed until the next resync; the service therefore compares
//   the file's inode, size and mtime before and after each sync and runs again when they moved
//   (at most MAX_RERUNS more times per start).
// - When the service hits its start limit the path unit fails too and stops watching; the next
//   document run (a command or the association) resets and restarts it. The limit only stops a file
//   that flaps for minutes from keeping the agent busy.

import { EXIT_APPLY_FAILED } from '../agent/cli-failure.js';
import { syncLockFile } from '../agent/serve/sync-lock.js';
import { COMMENT_PREFIX, ROOT_CHAIN } from '../core/plan/names.js';
import { NOT_ANSWERED, REQUESTS_DIR, residentSyncFunction, residentWaitSeconds } from './cell-resident.js';

/** Where the units live (the administrator's unit directory, not the package manager's). */
export const UNIT_DIR = '/etc/systemd/system';
export const SYNC_SERVICE = 'dynamic-egress-sync.service';
export const SYNC_PATH_UNIT = 'dynamic-egress-sync.path';
/** Applies the cell's own copy of its last snapshot at boot, before the network (cli-sync-cache.ts). */
export const BOOT_SERVICE = 'dynamic-egress-boot.service';
/** A stable name for the agent bundle (a symlink to `<hash>.mjs`, switched by every document run). */
export const CURRENT_AGENT_NAME = 'current.mjs';
/**
 * Beside it while a new build or new units are not yet applied (systemd reloaded, the watcher and the
 * resident agent restarted): the install step's next run applies them though it writes nothing new.
 */
export const UNITS_PENDING_NAME = 'units-pending';
/**
 * Beside it: the install step's lock (one run at a time), and how long a run waits for it: well
 * inside the step's own 60 s, so a run that cannot take it still ends well (exit 0, a message).
 */
export const INSTALL_LOCK_NAME = 'install.lock';
export const INSTALL_LOCK_WAIT_SECONDS = 20;
/** Written by the document: the cell's name (its instance id), which only the cell knows. */
export const CELL_ENV_NAME = 'cell.env';
/** More syncs one start may run when the file changed during the previous one. */
export const MAX_RERUNS = 3;
/** The service's start limit: at most this many starts per interval. */
export const START_LIMIT = { intervalSeconds: 60, burst: 30 } as const;
/** The PATH the document's script uses: node may be in /usr/local/bin. */
export const CELL_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

export interface CellUnitOptions {
  /** The stable agent path (`<agent dir>/current.mjs`). */
  readonly agentFile: string;
  readonly stateDir: string;
  /** May be a CloudFormation token (table name, region): their alphabet needs no quoting. */
  readonly tableName: string;
  readonly region: string;
  readonly containersPath: string;
  readonly overlayCidr: string;
  readonly unknownSources: string;
  /** The agent's `--deny-log-rate` (`N/second`, `N/minute` or `off`). */
  readonly denyLogRate: string;
  /** The agent's `--deny-networks` in its compact form (`[a-z0-9.,/=+]`), or '' for none. */
  readonly denyNetworks: string;
  /** The agent's `--log-group`. */
  readonly nflogGroup: number;
  readonly lockWaitSeconds: number;
  /**
   * The cell proxy's directory (`--proxy-dir`, docs/proxy.md), passed when haproxy is installed on
   * the cell; undefined: no proxy (http and https destinations allow nothing).
   */
  readonly proxyDir?: string;
  /** The document's own step timeout: one sync's bound. The service allows it for each of its runs. */
  readonly timeoutSeconds: number;
  /** Where the resident agent takes requests. For tests. @default REQUESTS_DIR (cell-resident.ts) */
  readonly requestsDir?: string;
}

export interface CellUnits {
  readonly service: string;
  readonly path: string;
  /** AGENT_SERVICE_UNIT: the resident agent (`agent serve`) the other syncs hand their work to. */
  readonly agent: string;
  /** BOOT_SERVICE: `sync --from-cache` before network-pre.target. */
  readonly boot: string;
}

/** Where the resident agent takes requests: the option, else REQUESTS_DIR. */
const requestsDirOf = (options: CellUnitOptions): string => options.requestsDir ?? REQUESTS_DIR;

/** Stands for the table name until the script is escaped: a token's `${Token[…]}` must stay whole. */
const TABLE = '@TABLE@';

/** The shell loop the service runs (plain sh; systemd escaping is applied by `cellUnits`). */
export function onChangeScript(options: CellUnitOptions): string {
  return scriptWithTablePlaceholder(options).replace(TABLE, () => options.tableName);
}

function scriptWithTablePlaceholder(options: CellUnitOptions): string {
  // inode (a rename-replace), size, and mtime to the nanosecond; empty when the file is missing.
  const stamp = `stat -L -c %i/%s/%y ${options.containersPath} 2>/dev/null || true`;
  const sync = `${lockedAgent(options)} sync --from-dynamodb ${tableSyncFlags(options, '--min-version 0 ')}`;
  // The resident agent syncs when it runs (cell-resident.ts); else this script starts the agent itself.
  return [
    residentSyncFunction({
      requestsDir: requestsDirOf(options),
      waitSeconds: residentWaitSeconds(options.timeoutSeconds),
    }),
    'runs=0; while :; do',
    `before=$(${stamp});`,
    `resident_sync 0 cheap; status=$?;`,
    `if [ $status -eq ${NOT_ANSWERED} ]; then ${sync}; status=$?; fi;`,
    // Exit 3: the table could not be read (or the kernel refused). The containers change must not wait
    // for the table: a new container on a removed one's address would keep that one's rules. The
    // cell's own copy of the policy it last applied goes in with the current containers, as at boot;
    // the service still fails, so the journal shows the table's error.
    `if [ $status -eq ${EXIT_APPLY_FAILED} ]; then ${bootCommand(options)}; fi;`,
    `after=$(${stamp});`,
    'runs=$((runs + 1));',
    // A file changed during the sync is synced again, whether the sync succeeded or failed: the path
    // unit did not watch meanwhile, and a failed sync may have read the file half rewritten (a store
    // rewritten in place). Unchanged, the sync's exit code is the service's.
    `if [ "$before" = "$after" ] || [ $runs -gt ${MAX_RERUNS} ]; then exit $status; fi;`,
    'done',
  ].join(' ');
}

/**
 * The resident agent's command: the flags of every other table sync of the cell (the document's
 * step passes the same ones, lib/cell-agent.ts), without a min version or read-back level: those
 * come with each request.
 */
function serveCommand(options: CellUnitOptions): string {
  return [
    `exec node ${options.agentFile} serve ${tableSyncFlags(options)}`,
    `--requests ${requestsDirOf(options)} --lock-wait ${options.lockWaitSeconds} --sync-timeout ${options.timeoutSeconds}`,
  ].join(' ');
}

/**
 * The flags the service's `sync --from-dynamodb` and `serve` share: the table, the cell, the rule
 * settings, the proxy. `perSync` (the service's `--min-version 0 `) goes after the cell name.
 */
function tableSyncFlags(options: CellUnitOptions, perSync = ''): string {
  const proxy = options.proxyDir === undefined ? '' : ` ${proxyFlagsExpansion(options.proxyDir)}`;
  return [
    `--table ${TABLE} --containers ${options.containersPath} --state-dir ${options.stateDir}`,
    `--cell-name "$CELL_NAME" ${perSync}${enforcementFlags(options)}${proxy}`,
  ].join(' ');
}

/**
 * The agent run under the cell's sync lock: one sync at a time, whichever unit or command starts it.
 * A lock not taken in time exits as a sync that could not apply (3, as the resident agent answers
 * then), so the service's fallback runs; flock's own code would be 1, which reads as refused input.
 */
function lockedAgent(options: CellUnitOptions): string {
  return lockedNode(options.lockWaitSeconds, options.stateDir, options.agentFile);
}

/** `node agentFile` under the cell's sync lock in `stateDir`, exit 3 when not taken within the wait. */
export function lockedNode(lockWaitSeconds: number, stateDir: string, agentFile: string): string {
  return `flock -w ${lockWaitSeconds} -E ${EXIT_APPLY_FAILED} ${syncLockFile(stateDir)} node ${agentFile}`;
}

/** The flags that decide what the rules are, the same for the boot unit's sync and the watcher's. */
function enforcementFlags(options: CellUnitOptions): string {
  const denyNetworks = options.denyNetworks === '' ? '' : ` --deny-networks ${options.denyNetworks}`;
  return `--overlay-cidr ${options.overlayCidr} --unknown-sources ${options.unknownSources} --deny-log-rate ${options.denyLogRate} --log-group ${options.nflogGroup}${denyNetworks}`;
}

/**
 * The boot unit's command: the snapshot the cell last applied, from its own copy, for the containers
 * file as it is (a kernel starts empty, and until the first sync every container could reach
 * everything).
 */
function bootCommand(options: CellUnitOptions): string {
  return [
    `${lockedAgent(options)} sync --from-cache`,
    `--containers ${options.containersPath} --state-dir ${options.stateDir} ${enforcementFlags(options)}`,
  ].join(' ');
}

/**
 * Run by the boot unit before its sync: on a kernel without the agent's root chain (a fresh boot), a
 * stand-in of it closes the container network at once: overlay destinations pass (container to
 * container, as the agent's root chain lets them), replies and open connections pass, anything else
 * from the overlay is refused. The
 * chain is filled before FORWARD jumps to it. The sync that follows replaces it (its rules carry no
 * tag of the agent's, so the diff takes them out); a sync that fails (no node, a refused kernel, a
 * lock not taken) leaves the cell closed until a sync succeeds, where it used to stay open. A root
 * chain already there (rules kept across a restart of the unit) is left to the sync.
 */
export function bootGuardCommand(overlayCidr: string): string {
  validateUnitValue(overlayCidr);
  const iptables = 'iptables -w';
  return [
    `if ! ${iptables} -n -L ${ROOT_CHAIN} >/dev/null 2>&1; then`,
    `${iptables} -N ${ROOT_CHAIN} && ${iptables} -A ${ROOT_CHAIN} -d ${overlayCidr} -j RETURN`,
    // As the agent's catch-all: replies and open connections pass, anything else is refused (a
    // NEW-only match would let INVALID and untracked packets through).
    `&& ${iptables} -A ${ROOT_CHAIN} -s ${overlayCidr} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    `&& ${iptables} -A ${ROOT_CHAIN} -s ${overlayCidr} -j REJECT`,
    `&& ${iptables} -I FORWARD 1 -m comment --comment ${COMMENT_PREFIX}hook -j ${ROOT_CHAIN}`,
    `|| echo "dynamic-egress: could not close the container network before the boot sync" >&2; fi`,
  ].join(' ');
}

/**
 * The sync's proxy flags as a shell expansion: `--proxy-dir DIR` when haproxy is installed on the
 * cell, nothing when it is not (then http and https destinations allow nothing, and the sync does not
 * fail for want of a proxy). Unquoted on purpose: it is two words or none. `dir` is validated.
 */
export function proxyFlagsExpansion(dir: string): string {
  if (!/^\/[A-Za-z0-9./_-]+$/.test(dir)) throw new Error(`proxyFlagsExpansion: unsafe dir ${JSON.stringify(dir)}`);
  return `$(command -v haproxy >/dev/null 2>&1 && echo --proxy-dir ${dir})`;
}

/** The two unit files' contents. */
export function cellUnits(options: CellUnitOptions): CellUnits {
  validateUnitValue(
    options.agentFile,
    options.stateDir,
    options.containersPath,
    options.overlayCidr,
    options.denyLogRate,
    String(options.nflogGroup),
  );
  if (!/^[a-z0-9.,/=+]*$/.test(options.denyNetworks)) {
    throw new Error(`cellUnits: unsafe deny networks ${JSON.stringify(options.denyNetworks)}`);
  }
  const script = systemdEscape(scriptWithTablePlaceholder(options)).replace(TABLE, () => options.tableName);
  const service = [
    '[Unit]',
    'Description=dynamic-egress: sync this cell when its containers file changes',
    `StartLimitIntervalSec=${START_LIMIT.intervalSeconds}`,
    `StartLimitBurst=${START_LIMIT.burst}`,
    '',
    '[Service]',
    'Type=oneshot',
    `Environment=PATH=${CELL_PATH}`,
    `Environment=AWS_REGION=${options.region}`,
    `EnvironmentFile=${options.stateDir}/${CELL_ENV_NAME}`,
    // One start runs up to MAX_RERUNS + 1 passes (a failed one too, when the file moved), each of
    // which may take the step timeout for its sync and as much again for the fallback after exit 3.
    `TimeoutStartSec=${options.timeoutSeconds * 2 * (MAX_RERUNS + 1)}`,
    `ExecStart=/bin/sh -c '${script}'`,
    '',
  ].join('\n');
  const path = [
    '[Unit]',
    'Description=dynamic-egress: watch the containers file of this cell',
    '',
    '[Path]',
    // Fires on close-after-write and on a rename over the file (systemd also watches the folder).
    `PathChanged=${options.containersPath}`,
    `Unit=${SYNC_SERVICE}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const boot = [
    '[Unit]',
    'Description=dynamic-egress: close the container network at boot with the rules this cell last applied',
    // Ordered as Debian's netfilter-persistent is: before any network is configured, so before
    // containers can start.
    'DefaultDependencies=no',
    'After=local-fs.target systemd-modules-load.service',
    'Wants=network-pre.target',
    'Before=network-pre.target shutdown.target',
    'Conflicts=shutdown.target',
    '',
    '[Service]',
    'Type=oneshot',
    `Environment=PATH=${CELL_PATH}`,
    `TimeoutStartSec=${options.timeoutSeconds}`,
    `ExecStart=/bin/sh -c '${systemdEscape(`${bootGuardCommand(options.overlayCidr)}; ${bootCommand(options)}`)}'`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const agent = [
    '[Unit]',
    "Description=dynamic-egress: resident agent, serving this cell's syncs",
    `After=network-online.target ${BOOT_SERVICE}`,
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `Environment=PATH=${CELL_PATH}`,
    `Environment=AWS_REGION=${options.region}`,
    `EnvironmentFile=${options.stateDir}/${CELL_ENV_NAME}`,
    // The requests folder exists (0700, root's) exactly while the agent runs: callers that find none
    // sync themselves at once. (A test's folder outside /run is made by the agent itself.)
    ...runtimeDirectory(requestsDirOf(options)),
    `ExecStart=/bin/sh -c '${systemdEscape(serveCommand(options)).replace(TABLE, () => options.tableName)}'`,
    // SIGTERM to the agent alone: it finishes the sync under way while its lock-holding shell still holds the
    // cell's lock and its command helper still runs (systemd's default would end them at once, freeing
    // the lock under a running sync). What is left when it has exited gets SIGKILL.
    'KillMode=mixed',
    'Restart=always',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  return { service, path, boot, agent };
}

/**
 * In an ExecStart argument systemd expands `$NAME`, `%x` and backslash escapes: the script's `$` and
 * `%` are doubled, and it may hold neither a single quote (it is quoted in those) nor a backslash.
 */
function systemdEscape(script: string): string {
  if (/['\\\n]/.test(script)) throw new Error(`cellUnits: the script may not contain ' or \\: ${script}`);
  return script.replaceAll('$', () => '$$').replaceAll('%', () => '%%');
}

/** systemd's lines for a folder directly under /run, removed when the service stops. */
function runtimeDirectory(dir: string): string[] {
  validateUnitValue(dir);
  const name = dir.startsWith('/run/') ? dir.slice('/run/'.length) : '';
  return /^[A-Za-z0-9._-]+$/.test(name) ? [`RuntimeDirectory=${name}`, 'RuntimeDirectoryMode=0700'] : [];
}

/** Paths and the CIDR are validated by CellAgent already; checked again since they land in a unit file. */
function validateUnitValue(...values: string[]): void {
  for (const value of values) {
    if (!/^[A-Za-z0-9./_-]+$/.test(value)) throw new Error(`cellUnits: unsafe value ${JSON.stringify(value)}`);
  }
}
