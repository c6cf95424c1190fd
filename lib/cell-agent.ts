// What runs on the cells: the agent bundle (an S3 asset), the SSM Command document that downloads and
// runs it, the State Manager association that re-runs it on a schedule, and the managed policy a cell's
// instance role needs, and the log group the cells' refused connections go to. The document takes three
// parameters, MinVersion (digits only, it ends up in a shell script), Verify and UnknownSources (its
// default the stack's `unknownSources`); everything else it needs (table, region, paths, overlay
// CIDR, deny logging) is fixed into it here, validated at synth.
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnAssociation, CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { EXIT_APPLY_FAILED, EXIT_USAGE } from '../agent/cli-failure.js';
import { PROXY_DIR } from '../agent/proxy/systemd-unit.js';
import { syncLockFile } from '../agent/serve/sync-lock.js';
import { parseCidr } from '../core/domain/ipv4.js';
import {
  DEFAULT_DENY_LOG_RATE,
  DEFAULT_LOG_GROUP,
  MAX_LOG_GROUP,
  MAX_RATE,
  parseDenyLogRate,
  parseLogGroup,
} from '../core/plan/deny-log.js';
import { formatDenyNetworks, parseDenyNetworks } from '../core/plan/deny-networks.js';
import {
  DEFAULT_OVERLAY_CIDR,
  DEFAULT_UNKNOWN_SOURCES,
  type DenyNetworks,
  isUnknownSources,
  UNKNOWN_SOURCES,
  type UnknownSources,
} from '../core/plan/plan.js';
import { CELL_PK } from '../core/store/cell-status-store.js';
import { SHARD_PK_PREFIX } from '../core/store/shard-items.js';
import { SHARD_LOG_PK_PREFIX } from '../core/store/shard-log.js';
import { SNAPSHOT_PK } from '../core/store/snapshot-store.js';
import { PARTITION_KEY, SORT_KEY } from '../core/store/table-definition.js';
import { everyMinutes, RUN_LIMIT_DEFAULTS, SCHEDULE_DEFAULTS } from '../lambdas/fanout/run-limits.js';
import { AgentAsset } from './agent-asset.js';
import { installConnectionLoggingScript, removeConnectionLoggingScript } from './cell-logging-script.js';
import { connectionLoggingUnits } from './cell-logging-units.js';
import { installNamesScript, removeNamesScript } from './cell-names-script.js';
import { namesUnit } from './cell-names-units.js';
import { installProxyScript, removeProxyScript } from './cell-proxy-script.js';
import { NOT_ANSWERED, residentSyncFunction, residentWaitSeconds } from './cell-resident.js';
import { CURRENT_AGENT_NAME, cellUnits, proxyFlagsExpansion } from './cell-units.js';
import {
  INSTANCE_ID_LINES,
  installWatcherScript,
  uninstallWatcherScript,
  wholeValueMatches,
} from './cell-watcher-script.js';
import { parseSchedule } from './schedule.js';

/** Defaults of the cell-side settings (also the defaults of the matching context keys). */
export const CELL_DEFAULTS = {
  cellTagKey: 'egress:cell',
  cellTagValue: 'true',
  resyncSchedule: everyMinutes(SCHEDULE_DEFAULTS.resyncMinutes),
  containersPath: '/var/vcap/data/container-metadata/store.json',
  overlayCidr: DEFAULT_OVERLAY_CIDR,
  unknownSources: DEFAULT_UNKNOWN_SOURCES,
  denyLogRate: `${DEFAULT_DENY_LOG_RATE.count}/${DEFAULT_DENY_LOG_RATE.per}`,
  nflogGroup: DEFAULT_LOG_GROUP,
  connectionLogging: true,
  layer7Proxy: true,
  connectionLogRetention: RetentionDays.THREE_MONTHS,
  maxConcurrency: RUN_LIMIT_DEFAULTS.maxConcurrency,
  maxErrors: RUN_LIMIT_DEFAULTS.maxErrors,
} as const;

/** Where the agent keeps its state on a cell (applied version, cached snapshot, lock). */
export const CELL_STATE_DIR = '/var/lib/dynamic-egress';
/** Where the document downloads the agent bundle on a cell (one file per build, named by its hash). */
export const CELL_AGENT_DIR = '/opt/dynamic-egress/agent';
/** The document's only parameter, and what it accepts: a policy version. */
export const MIN_VERSION_PATTERN = '^[0-9]{1,15}$';
/** The agent's `--verify` levels (agent/recorded-sync.ts), as the document parameter accepts them. */
export const VERIFY_PATTERN = '^(cheap|full)$';
/**
 * Where the units and the sync step take `--unknown-sources`: SSM puts the run's value there (one of
 * UNKNOWN_SOURCES, which it checks), the stack's `unknownSources` unless a command names another.
 */
export const UNKNOWN_SOURCES_PARAMETER = '{{ UnknownSources }}';
export const UNKNOWN_SOURCES_PATTERN = `^(${UNKNOWN_SOURCES.join('|')})$`;
/** The attributes of a cell's report item (CellStatusStore), besides the key. */
export const CELL_REPORT_ATTRIBUTES = [
  'applied_version',
  'applied_at',
  'synced_at',
  'containers',
  'rules',
  'sources',
] as const;

export interface CellAgentProps {
  /** The policy table the agent reads snapshots from and reports to. */
  readonly table: ITable;
  /**
   * Tag key that marks an instance as a cell (targets of commands and of the association).
   * @default 'egress:cell'
   */
  readonly cellTagKey?: string;
  /**
   * Value of the cell tag.
   * @default 'true'
   */
  readonly cellTagValue?: string;
  /**
   * When State Manager re-runs a full sync on every cell: `rate(N minutes|hours|days)` (at least 30
   * minutes) or `cron(...)`.
   * @default 'rate(30 minutes)'
   */
  readonly resyncSchedule?: string;
  /**
   * The container metadata file on a cell (absolute path).
   * @default '/var/vcap/data/container-metadata/store.json'
   */
  readonly containersPath?: string;
  /**
   * The containers' overlay network (IPv4 CIDR) whose egress the agent filters.
   * @default '10.255.0.0/16'
   */
  readonly overlayCidr?: string;
  /**
   * New connections from overlay addresses the containers file does not list: `reject` (tcp-reset /
   * icmp-port-unreachable; the only way out is a policy) or `allow` (left alone, the behaviour before
   * this setting, for a staged rollout). Established connections and replies pass either way.
   * @default 'reject'
   */
  readonly unknownSources?: UnknownSources;
  /**
   * How often each container's refused connections are logged to NFLOG (the agent's `--deny-log-rate`):
   * `N/second` (N up to 100), `N/minute` (up to 600) or `off` (no log rule).
   * @default '1/second'
   */
  readonly denyLogRate?: string;
  /**
   * Operator deny networks (silk's `deny_networks`, the agent's `--deny-networks`): CIDRs no container
   * may open a connection to, whatever a policy or security group allows: `always` for every
   * container, `running` for app and task containers, `staging` for staging ones.
   * @default none
   */
  readonly denyNetworks?: DenyNetworks;
  /**
   * The NFLOG group the refused connections are logged to, and that ulogd reads (the agent's
   * `--log-group`), 1-65535.
   * @default 100
   */
  readonly nflogGroup?: number;
  /**
   * Install connection logging on the cells (ulogd2 and `agent logs`, writing
   * /var/log/dynamic-egress/egress.log) and create the log group the CloudWatch agent ships that file
   * to. `false` removes it from the cells on their next sync (the log files stay) and creates no log
   * group. Cells without ulogd sync all the same, with a warning.
   * @default true
   */
  readonly connectionLogging?: boolean;
  /**
   * Run the cell proxy (docs/proxy.md) that enforces `http` and `https` destinations: the sync
   * document installs `dynamic-egress-proxy.service` and a path unit starting it once the agent has
   * configured it, and the syncs pass `--proxy-dir` on cells where haproxy is installed (it comes
   * with the cell's image: `apt-get install haproxy`). Elsewhere, and with `false` (which removes the
   * units and the proxy's redirects on the next sync), http and https destinations allow nothing.
   * @default true
   */
  readonly layer7Proxy?: boolean;
  /**
   * Retention of the connection log group (kept when the stack is deleted).
   * @default RetentionDays.THREE_MONTHS
   */
  readonly connectionLogRetention?: RetentionDays;
  /**
   * How many cells the association syncs at once (number or percentage).
   * @default '50%'
   */
  readonly maxConcurrency?: string;
  /**
   * How many cells may fail before the association stops (number or percentage). The default never
   * stops: one unreachable cell must not keep the others from converging.
   * @default '100%'
   */
  readonly maxErrors?: string;
  /**
   * How long one sync may take on a cell before SSM stops it.
   * @default Duration.minutes(5)
   */
  readonly syncTimeout?: Duration;
}

export class CellAgent extends Construct {
  readonly agent: AgentAsset;
  readonly document: CfnDocument;
  /** Name of the SSM document (generated by CloudFormation). */
  readonly documentName: string;
  /** ARN of the SSM document, for `ssm:SendCommand` grants. */
  readonly documentArn: string;
  /** Removes the connection logging and the containers-file watcher the sync document installs (run it before retiring a cell's agent). */
  readonly uninstallDocument: CfnDocument;
  readonly association: CfnAssociation;
  /** Attach to every cell's instance role. */
  readonly cellPolicy: ManagedPolicy;
  /**
   * Where the cells' CloudWatch agent sends their refused connections (RETAIN: audit data outlives
   * the stack). Undefined when connectionLogging is false.
   */
  readonly connectionLogGroup: LogGroup | undefined;
  readonly cellTagKey: string;
  readonly cellTagValue: string;
  readonly maxConcurrency: string;
  readonly maxErrors: string;
  /** How long one sync may run: a command sent less than this ago may still be reaching cells. */
  readonly syncTimeout: Duration;
  /**
   * A cell silent for longer than this is gone (its report stays in the table): two resync
   * intervals for a `rate(...)` schedule, a day and an hour for a `cron(...)` one.
   */
  readonly liveCellWindow: Duration;

  constructor(scope: Construct, id: string, props: CellAgentProps) {
    super(scope, id);
    this.cellTagKey = props.cellTagKey ?? CELL_DEFAULTS.cellTagKey;
    this.cellTagValue = props.cellTagValue ?? CELL_DEFAULTS.cellTagValue;
    this.maxConcurrency = props.maxConcurrency ?? CELL_DEFAULTS.maxConcurrency;
    this.maxErrors = props.maxErrors ?? CELL_DEFAULTS.maxErrors;
    const resyncSchedule = props.resyncSchedule ?? CELL_DEFAULTS.resyncSchedule;
    const containersPath = props.containersPath ?? CELL_DEFAULTS.containersPath;
    const overlayCidr = props.overlayCidr ?? CELL_DEFAULTS.overlayCidr;
    const unknownSources = validateUnknownSources(props.unknownSources ?? CELL_DEFAULTS.unknownSources);
    const denyLogRate = validateDenyLogRate(props.denyLogRate ?? CELL_DEFAULTS.denyLogRate);
    const denyNetworks = validateDenyNetworks(props.denyNetworks);
    const nflogGroup = validateNflogGroup(props.nflogGroup ?? CELL_DEFAULTS.nflogGroup);
    const connectionLogging = validateConnectionLogging(props.connectionLogging ?? CELL_DEFAULTS.connectionLogging);
    const layer7Proxy = props.layer7Proxy ?? CELL_DEFAULTS.layer7Proxy;
    const syncTimeout = props.syncTimeout ?? Duration.minutes(5);
    this.syncTimeout = syncTimeout;
    validateCellTag(this.cellTagKey, this.cellTagValue);
    validateRunLimits(this.maxConcurrency, this.maxErrors);
    validateSchedule(resyncSchedule);
    this.liveCellWindow = liveCellWindowFor(resyncSchedule);
    validateAbsolutePath('containersPath', containersPath);
    validateCidr(overlayCidr);
    const timeoutSeconds = syncTimeout.toSeconds();
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 3600) {
      throw new Error(`CellAgent: syncTimeout must be whole seconds from 30 to 3600, got ${timeoutSeconds}`);
    }

    this.agent = new AgentAsset(this, 'Agent');
    const agentFile = `${CELL_AGENT_DIR}/${this.agent.asset.s3ObjectKey}`;
    const lockWaitSeconds = Math.max(10, timeoutSeconds - 30);
    const agentCommand = {
      tableName: props.table.tableName,
      region: Aws.REGION,
      containersPath,
      overlayCidr,
      unknownSources: UNKNOWN_SOURCES_PARAMETER,
      denyLogRate,
      denyNetworks,
      nflogGroup,
      lockWaitSeconds,
      ...(layer7Proxy ? { proxyDir: PROXY_DIR } : {}),
    };
    // A container created or destroyed changes the containers file: the cell syncs at once.
    const units = cellUnits({
      ...agentCommand,
      agentFile: `${CELL_AGENT_DIR}/${CURRENT_AGENT_NAME}`,
      stateDir: CELL_STATE_DIR,
      timeoutSeconds,
    });
    const currentAgent = `${CELL_AGENT_DIR}/${CURRENT_AGENT_NAME}`;
    const loggingScript = connectionLogging
      ? installConnectionLoggingScript({
          units: connectionLoggingUnits({
            agentFile: currentAgent,
            agentBuild: this.agent.asset.s3ObjectKey,
            containersPath,
          }),
          agentFile: currentAgent,
          nflogGroup,
        })
      : removeConnectionLoggingScript({ neverFail: true });

    this.document = new CfnDocument(this, 'SyncDocument', {
      documentType: 'Command',
      documentFormat: 'JSON',
      targetType: '/AWS::EC2::Instance',
      content: {
        schemaVersion: '2.2',
        description:
          'dynamic-egress: download the cell agent and converge this cell to the published egress policies (version >= MinVersion)',
        parameters: {
          MinVersion: {
            type: 'String',
            description: 'Lowest policy version the cell must apply (0: whatever is current)',
            default: '0',
            allowedPattern: MIN_VERSION_PATTERN,
          },
          UnknownSources: {
            type: 'String',
            description:
              'reject: new connections from overlay addresses the containers file does not list are refused; allow: they pass. Only as strict as the stack or stricter: a stack that allows them takes reject too, applied to the cells a command names (rules and units) until the next run with the default: a trial, not a setting',
            default: unknownSources,
            // Anyone who may send the document (the fan-out's role too) could otherwise open a cell.
            allowedValues: unknownSources === 'allow' ? ['allow', 'reject'] : ['reject'],
          },
          Verify: {
            type: 'String',
            description:
              'cheap: unchanged inputs are checked against the record the last sync left in the kernel; full: every rule and set member is read back and repaired (the scheduled association)',
            default: 'cheap',
            allowedPattern: VERIFY_PATTERN,
          },
        },
        mainSteps: [
          {
            action: 'aws:downloadContent',
            name: 'DownloadAgent',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: {
              sourceType: 'S3',
              // The agent parses sourceInfo as a JSON string.
              sourceInfo: Stack.of(this).toJsonString({ path: this.agent.asset.httpUrl }),
              // A trailing slash: the object keeps its name (<hash>.mjs) inside this folder.
              destinationPath: `${CELL_AGENT_DIR}/`,
            },
          },
          {
            action: 'aws:runShellScript',
            name: 'InstallWatcher',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: {
              timeoutSeconds: '60',
              runCommand: installWatcherScript({
                units,
                agentDir: CELL_AGENT_DIR,
                agentFileName: this.agent.asset.s3ObjectKey,
                stateDir: CELL_STATE_DIR,
                // The units hold the run's UnknownSources: checked here too, before any is written.
                valueChecks: [unknownSourcesCheck()],
              }),
            },
          },
          {
            action: 'aws:runShellScript',
            // After the watcher's step, which links current.mjs; before the sync, which writes the
            // names document the service follows (until then it has nothing to resolve).
            name: 'InstallNamesRefresh',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: {
              timeoutSeconds: '60',
              runCommand: installNamesScript({
                unit: namesUnit({
                  agentFile: currentAgent,
                  agentBuild: this.agent.asset.s3ObjectKey,
                  stateDir: CELL_STATE_DIR,
                  overlayCidr,
                  denyNetworks,
                }),
              }),
            },
          },
          {
            action: 'aws:runShellScript',
            // Before the sync, whose first configuration starts the proxy through the path unit.
            name: layer7Proxy ? 'InstallProxy' : 'RemoveProxy',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { timeoutSeconds: '60', runCommand: layer7Proxy ? installProxyScript() : removeProxyScript() },
          },
          {
            action: 'aws:runShellScript',
            // Before the sync step, which ends the document; after the watcher's, which links current.mjs.
            name: connectionLogging ? 'InstallConnectionLogging' : 'RemoveConnectionLogging',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { timeoutSeconds: '60', runCommand: loggingScript },
          },
          {
            action: 'aws:runShellScript',
            name: 'SyncCell',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: {
              timeoutSeconds: String(timeoutSeconds),
              runCommand: syncScript({
                ...agentCommand,
                agentFile,
                agentFileName: this.agent.asset.s3ObjectKey,
                residentWaitSeconds: residentWaitSeconds(timeoutSeconds),
              }),
            },
          },
        ],
      },
    });
    this.documentName = this.document.ref;
    this.uninstallDocument = new CfnDocument(this, 'UninstallDocument', {
      documentType: 'Command',
      documentFormat: 'JSON',
      targetType: '/AWS::EC2::Instance',
      content: {
        schemaVersion: '2.2',
        description:
          'dynamic-egress: remove the containers-file watcher, the host-name refresh, the cell proxy and the connection logging (systemd units) the sync document installs; with RemoveRules=true, then every chain, set and hook of the agent',
        parameters: {
          RemoveRules: {
            type: 'String',
            description:
              'true: once the units are stopped, remove every chain, set and hook the agent made (agent uninstall; the operator rules stay), leaving the cell without egress rules. false: leave the rules in force.',
            allowedValues: ['false', 'true'],
            default: 'false',
          },
        },
        mainSteps: [
          {
            action: 'aws:runShellScript',
            name: 'RemoveProxy',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { timeoutSeconds: '60', runCommand: removeProxyScript() },
          },
          {
            // Before RemoveWatcher: the service runs current.mjs, which that step deletes.
            action: 'aws:runShellScript',
            name: 'RemoveNamesRefresh',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { timeoutSeconds: '60', runCommand: removeNamesScript() },
          },
          {
            // Also before RemoveWatcher: the forwarder runs current.mjs too.
            action: 'aws:runShellScript',
            name: 'RemoveConnectionLogging',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: { timeoutSeconds: '60', runCommand: removeConnectionLoggingScript({ neverFail: false }) },
          },
          {
            action: 'aws:runShellScript',
            name: 'RemoveWatcher',
            precondition: { StringEquals: ['platformType', 'Linux'] },
            inputs: {
              timeoutSeconds: '60',
              runCommand: uninstallWatcherScript({
                agentDir: CELL_AGENT_DIR,
                stateDir: CELL_STATE_DIR,
                removeRules: '{{RemoveRules}}',
              }),
            },
          },
        ],
      },
    });
    this.documentArn = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'document',
      resourceName: this.document.ref,
    });

    // Heals what commands missed (a cell that was down, a failed command, drift in the kernel).
    this.association = new CfnAssociation(this, 'Resync', {
      name: this.document.ref,
      targets: [{ key: `tag:${this.cellTagKey}`, values: [this.cellTagValue] }],
      scheduleExpression: resyncSchedule,
      // The scheduled run is the repair run: it reads back and diffs every rule and set member.
      parameters: { MinVersion: ['0'], Verify: ['full'] },
      maxConcurrency: this.maxConcurrency,
      // 100% by default: a few failing cells must not stop the run for the rest (each cell's failure
      // shows in its own execution and in the compliance view).
      maxErrors: this.maxErrors,
      complianceSeverity: 'HIGH',
    });

    this.connectionLogGroup = connectionLogging
      ? new LogGroup(this, 'ConnectionLogs', {
          retention: validateRetention(props.connectionLogRetention ?? CELL_DEFAULTS.connectionLogRetention),
          // Audit data: never deleted with the stack nor by a replacement.
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : undefined;

    const tableArn = props.table.tableArn;
    const bucketArn = this.agent.asset.bucket.bucketArn;
    this.cellPolicy = new ManagedPolicy(this, 'CellPolicy', {
      description: 'dynamic-egress cell: read published snapshots, write this cell report, download the agent',
      statements: [
        new PolicyStatement({
          sid: 'ReadSnapshots',
          effect: Effect.ALLOW,
          actions: ['dynamodb:GetItem', 'dynamodb:Query'],
          resources: [tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [SNAPSHOT_PK] } },
        }),
        new PolicyStatement({
          sid: 'WriteCellReport',
          effect: Effect.ALLOW,
          actions: ['dynamodb:UpdateItem'],
          resources: [tableArn],
          conditions: {
            'ForAllValues:StringEquals': {
              'dynamodb:LeadingKeys': [CELL_PK],
              'dynamodb:Attributes': [PARTITION_KEY, SORT_KEY, ...CELL_REPORT_ATTRIBUTES],
            },
            StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
          },
        }),
        new PolicyStatement({
          sid: 'DownloadAgent',
          effect: Effect.ALLOW,
          actions: ['s3:GetObject'],
          resources: [this.agent.objectArn],
        }),
        // aws:downloadContent lists `<key>/` first to tell a folder from a file; that listing is empty.
        new PolicyStatement({
          sid: 'DownloadAgentProbe',
          effect: Effect.ALLOW,
          actions: ['s3:ListBucket'],
          resources: [bucketArn],
          conditions: { StringEquals: { 's3:prefix': [`${this.agent.asset.s3ObjectKey}/`] } },
        }),
        // The CloudWatch agent shipping /var/log/dynamic-egress/egress.log, to this log group only.
        ...(this.connectionLogGroup
          ? [
              new PolicyStatement({
                sid: 'WriteConnectionLogs',
                effect: Effect.ALLOW,
                actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
                resources: [this.connectionLogGroup.logGroupArn],
              }),
            ]
          : []),
        // The source shards of what the cell hosts and the change log (core/store/shard-items.ts).
        new PolicyStatement({
          sid: 'ReadSourceShards',
          effect: Effect.ALLOW,
          actions: ['dynamodb:BatchGetItem'],
          resources: [tableArn],
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${SHARD_PK_PREFIX}*`, `${SHARD_LOG_PK_PREFIX}*`] },
          },
        }),
      ],
    });
  }
}

interface SyncScriptOptions {
  readonly agentFile: string;
  readonly agentFileName: string;
  readonly tableName: string;
  readonly region: string;
  readonly containersPath: string;
  readonly overlayCidr: string;
  /** UNKNOWN_SOURCES_PARAMETER: the run's value, checked again by the script. */
  readonly unknownSources: string;
  readonly denyLogRate: string;
  /** The agent's `--deny-networks` in its compact form, or '' for none. */
  readonly denyNetworks: string;
  readonly nflogGroup: number;
  readonly lockWaitSeconds: number;
  /** How long the step waits for the resident agent before it syncs itself (cell-resident.ts). */
  readonly residentWaitSeconds: number;
  /** `--proxy-dir`, when the cell proxy is on (cell-units.ts: proxyFlagsExpansion). */
  readonly proxyDir?: string;
}

/** Sets UNKNOWN_SOURCES to the run's value and exits 2 unless it is reject or allow (SSM checked it already). */
function unknownSourcesCheck(value = UNKNOWN_SOURCES_PARAMETER): string {
  return `UNKNOWN_SOURCES='${value}'; if ! ${wholeValueMatches('UNKNOWN_SOURCES', UNKNOWN_SOURCES_PATTERN)}; then echo "dynamic-egress: UnknownSources must be reject or allow, got '$UNKNOWN_SOURCES'" >&2; exit 2; fi`;
}

/**
 * The shell lines of the sync step. `{{ MinVersion }}` is replaced by SSM after checking it against
 * MIN_VERSION_PATTERN, and checked again here; all other values are validated at synth or are
 * CloudFormation names (table, region) whose alphabet cannot break out of single quotes.
 */
function syncScript(options: SyncScriptOptions): string[] {
  return [
    'set -eu',
    'export PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH"',
    "MIN_VERSION='{{ MinVersion }}'",
    `if ! ${wholeValueMatches('MIN_VERSION', MIN_VERSION_PATTERN)}; then echo "dynamic-egress: MinVersion must be digits, got '$MIN_VERSION'" >&2; exit 2; fi`,
    "VERIFY='{{ Verify }}'",
    `if ! ${wholeValueMatches('VERIFY', VERIFY_PATTERN)}; then echo "dynamic-egress: Verify must be cheap or full, got '$VERIFY'" >&2; exit 2; fi`,
    unknownSourcesCheck(options.unknownSources),
    "if ! command -v node >/dev/null 2>&1; then echo 'dynamic-egress: node (>= 20) is not installed on this cell' >&2; exit 3; fi",
    `if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then echo "dynamic-egress: node >= 20 required, found $(node --version)" >&2; exit 3; fi`,
    ...INSTANCE_ID_LINES,
    `install -d -m 0700 ${CELL_STATE_DIR}`,
    // Earlier builds of the agent are not needed once this one is here (a running one keeps its file
    // open). Not the build the units run (current.mjs), nor one written in the last hour: two document
    // runs of different builds at once (a deploy) would otherwise delete each other's.
    `find ${CELL_AGENT_DIR} -maxdepth 1 -type f -name '*.mjs' ! -name '${options.agentFileName}' ! -name "$(readlink ${CELL_AGENT_DIR}/${CURRENT_AGENT_NAME} 2>/dev/null || echo none)" -mmin +60 -delete`,
    `export AWS_REGION='${options.region}'`,
    // The resident agent syncs when it runs (lib/cell-resident.ts): no node start, the plan of its
    // last sync kept. Its exit code is the step's; when it does not answer, the step syncs itself.
    residentSyncFunction({ waitSeconds: options.residentWaitSeconds }),
    // With this run's UnknownSources: an agent started with another setting leaves the sync to the step.
    `if resident_sync "$MIN_VERSION" "$VERIFY" "$UNKNOWN_SOURCES"; then exit 0; else status=$?; fi`,
    // 2: a resident agent older than this document refused the request's third word (an upgrade whose
    // restart has not happened yet): the step syncs itself, as when none answers.
    `if [ "$status" -ne ${NOT_ANSWERED} ] && [ "$status" -ne ${EXIT_USAGE} ]; then exit "$status"; fi`,
    // A command and the scheduled association may arrive together: one sync at a time per cell.
    // A lock not taken in time exits 3 (could not apply), as the resident agent answers then.
    `exec flock -w ${options.lockWaitSeconds} -E ${EXIT_APPLY_FAILED} ${syncLockFile(CELL_STATE_DIR)} node '${options.agentFile}' sync --from-dynamodb --table '${options.tableName}' --containers '${options.containersPath}' --state-dir ${CELL_STATE_DIR} --cell-name "$INSTANCE_ID" --min-version "$MIN_VERSION" --overlay-cidr '${options.overlayCidr}' --unknown-sources "$UNKNOWN_SOURCES" --deny-log-rate '${options.denyLogRate}' --log-group ${options.nflogGroup}${denyNetworksFlag(options.denyNetworks)} --verify "$VERIFY"${options.proxyDir === undefined ? '' : ` ${proxyFlagsExpansion(options.proxyDir)}`}`,
  ];
}

// --- validation of the settings that end up in the document, the targets and the IAM conditions ---

const TAG_ALPHABET = /^[A-Za-z0-9+\-=._:/@]+$/;

export function validateCellTag(key: string, value: string): void {
  if (!TAG_ALPHABET.test(key) || key.length > 128 || key.toLowerCase().startsWith('aws:')) {
    throw new Error(
      `CellAgent: cellTagKey must be 1-128 characters of letters, digits and + - = . _ : / @, not starting with aws:, got ${JSON.stringify(key)}`,
    );
  }
  if (!TAG_ALPHABET.test(value) || value.length > 256) {
    throw new Error(
      `CellAgent: cellTagValue must be 1-256 characters of letters, digits and + - = . _ : / @, got ${JSON.stringify(value)}`,
    );
  }
}

export function validateRunLimits(maxConcurrency: string, maxErrors: string): void {
  if (!/^([1-9][0-9]{0,5}|[1-9][0-9]?%|100%)$/.test(maxConcurrency)) {
    throw new Error(
      `CellAgent: maxConcurrency must be a count (1-999999) or a percentage (1%-100%), got ${JSON.stringify(maxConcurrency)}`,
    );
  }
  if (!/^([0-9]{1,6}|[0-9]{1,2}%|100%)$/.test(maxErrors)) {
    throw new Error(
      `CellAgent: maxErrors must be a count (0-999999) or a percentage (0%-100%), got ${JSON.stringify(maxErrors)}`,
    );
  }
}

/** Two intervals of a valid `rate(...)` schedule; 25 hours for `cron(...)` (at least daily in practice). */
export function liveCellWindowFor(schedule: string): Duration {
  const parsed = parseSchedule(schedule);
  return parsed?.kind === 'rate' ? Duration.minutes(2 * parsed.minutes) : Duration.hours(25);
}

/** State Manager's rule: any `rate(...)` of at least 30 minutes (singular or plural unit), or `cron(...)`. */
export function validateSchedule(schedule: string): void {
  const parsed = parseSchedule(schedule);
  if (!parsed) {
    throw new Error(
      `CellAgent: resyncSchedule must be rate(N minutes|hours|days) or cron(...), got ${JSON.stringify(schedule)}`,
    );
  }
  if (parsed.kind === 'rate' && parsed.minutes < 30) {
    throw new Error(
      `CellAgent: resyncSchedule may not run more often than every 30 minutes (State Manager's minimum), got ${JSON.stringify(schedule)}`,
    );
  }
}

export function validateAbsolutePath(name: string, path: string): void {
  const segments = path.split('/').slice(1);
  if (
    !/^(\/[A-Za-z0-9._-]+)+$/.test(path) ||
    segments.some((segment) => segment === '.' || segment === '..') ||
    path.length > 1024
  ) {
    throw new Error(
      `CellAgent: ${name} must be an absolute path of letters, digits and . _ - (no . or .. segments), got ${JSON.stringify(path)}`,
    );
  }
}

/** The agent reads the overlay with the same parser (core/plan/cidr.ts), so what passes here runs there. */
export function validateCidr(cidr: string): void {
  try {
    parseCidr(cidr);
  } catch {
    throw new Error(
      `CellAgent: overlayCidr must be an IPv4 CIDR block such as ${DEFAULT_OVERLAY_CIDR}, got ${JSON.stringify(cidr)}`,
    );
  }
}

/** A JavaScript caller (or a context value) can pass any string; only the agent's two words reach the script. */
/**
 * The deny networks as the agent's compact `--deny-networks` value (only `[a-z0-9.,/=+]`: no quoting
 * needed in the document's shell lines or the watcher unit), or '' when there are none. Validated
 * and normalized by the agent's own parser, so synth refuses what a cell would.
 */
export function validateDenyNetworks(value: DenyNetworks | undefined): string {
  if (value === undefined) return '';
  let networks: DenyNetworks;
  try {
    networks = parseDenyNetworks(JSON.stringify(value));
  } catch (error) {
    throw new Error(`CellAgent: denyNetworks: ${error instanceof Error ? error.message : String(error)}`);
  }
  const none = networks.always.length + networks.running.length + networks.staging.length === 0;
  return none ? '' : formatDenyNetworks(networks);
}

/** ` --deny-networks <compact>`, or nothing when there are none. */
export function denyNetworksFlag(compact: string): string {
  return compact === '' ? '' : ` --deny-networks ${compact}`;
}

export function validateUnknownSources(value: unknown): UnknownSources {
  if (isUnknownSources(value)) return value;
  throw new Error(`CellAgent: unknownSources must be ${UNKNOWN_SOURCES.join(' or ')}, got ${JSON.stringify(value)}`);
}

/** The agent's `--deny-log-rate` syntax and bounds (core/plan/deny-log.ts), checked at synth. */
export function validateDenyLogRate(value: unknown): string {
  if (typeof value === 'string' && parseDenyLogRate(value) !== undefined) return value;
  throw new Error(
    `CellAgent: denyLogRate must be N/second (N at most ${MAX_RATE.second}), N/minute (at most ${MAX_RATE.minute}) or off, got ${JSON.stringify(value)}`,
  );
}

/** The agent's `--log-group` bounds (core/plan/deny-log.ts), checked at synth. */
export function validateNflogGroup(value: unknown): number {
  if (typeof value === 'number' && parseLogGroup(String(value)) === value) return value;
  throw new Error(`CellAgent: nflogGroup must be an integer from 1 to ${MAX_LOG_GROUP}, got ${JSON.stringify(value)}`);
}

export function validateConnectionLogging(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw new Error(`CellAgent: connectionLogging must be true or false, got ${JSON.stringify(value)}`);
}

/** A bounded retention CloudWatch offers (not INFINITE). */
export function validateRetention(value: RetentionDays): RetentionDays {
  if (Object.values(RetentionDays).includes(value) && value !== RetentionDays.INFINITE) return value;
  throw new Error(
    `CellAgent: connectionLogRetention must be one of CloudWatch's bounded retentions, got ${JSON.stringify(value)}`,
  );
}
