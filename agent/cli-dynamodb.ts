// `agent sync --from-dynamodb --table NAME --containers FILE --state-dir DIR --cell-name NAME
//  [--min-version N] [--overlay-cidr CIDR] [--netns NS] [--dry-run | --render-only]`
// What SSM runs on a cell: desired state from the policy table's snapshot, applied only forward,
// reported back. Ends with one JSON summary line on stdout. Region and endpoint come from the
// standard AWS environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB). `--netns` (local mode) programs
// the kernel of that network namespace while the agent itself, and its DynamoDB traffic, stay on
// the host, as a cell's agent reaches the table over the cell's own network.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCellStatusStore } from '../core/store/cell-status-store.js';
import { DynamoDbSnapshotStore } from '../core/store/snapshot-store.js';
import { overlayCidrArgument } from './cli-args.js';
import { converge } from './converge.js';
import { UsageError } from './errors.js';
import { type CommandRunner, emptyKernelRunner, netnsRunner } from './runner.js';
import { readContainersFile } from './source/files.js';
import { AgentState } from './state.js';

export const DYNAMODB_USAGE =
  'usage: agent sync --from-dynamodb --table NAME --containers FILE --state-dir DIR [--cell-name NAME] [--min-version N] [--overlay-cidr CIDR] [--netns NS] [--dry-run | --render-only]';

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const CELL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface DynamoDbSyncArgs {
  readonly table: string;
  readonly containers: string;
  readonly stateDir: string;
  readonly cellName: string;
  readonly minVersion: number;
  readonly overlayCidr: string;
  readonly dryRun: boolean;
  readonly renderOnly: boolean;
  readonly netns: string | undefined;
}

export function parseDynamoDbArgs(argv: readonly string[]): DynamoDbSyncArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'from-dynamodb': { type: 'boolean' },
        table: { type: 'string' },
        containers: { type: 'string' },
        'state-dir': { type: 'string' },
        'cell-name': { type: 'string' },
        'min-version': { type: 'string', default: '0' },
        'overlay-cidr': { type: 'string', default: '10.255.0.0/16' },
        'dry-run': { type: 'boolean', default: false },
        'render-only': { type: 'boolean', default: false },
        netns: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = (name: string): string => {
    const value = values[name];
    if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
    return value;
  };
  const table = text('table');
  if (!TABLE_NAME.test(table)) throw new UsageError(`--table: not a DynamoDB table name: ${JSON.stringify(table)}`);
  const cellName = typeof values['cell-name'] === 'string' ? values['cell-name'] : hostname();
  if (!CELL_NAME.test(cellName)) {
    throw new UsageError(`--cell-name: must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(cellName)}`);
  }
  const minVersionText = String(values['min-version']);
  if (!/^\d{1,15}$/.test(minVersionText)) {
    throw new UsageError(`--min-version: must be a non-negative integer, got ${JSON.stringify(minVersionText)}`);
  }
  const overlayCidr = overlayCidrArgument(String(values['overlay-cidr']));
  const netns = typeof values.netns === 'string' ? values.netns : undefined;
  if (netns !== undefined && !CELL_NAME.test(netns)) {
    throw new UsageError(`--netns: must be 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(netns)}`);
  }
  if (values['dry-run'] === true && values['render-only'] === true) {
    throw new UsageError('--dry-run and --render-only exclude each other');
  }
  return {
    table,
    containers: text('containers'),
    stateDir: text('state-dir'),
    cellName,
    minVersion: Number(minVersionText),
    overlayCidr,
    dryRun: values['dry-run'] === true,
    renderOnly: values['render-only'] === true,
    netns,
  };
}

export interface DynamoDbSyncIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly runner?: CommandRunner;
}

export async function runDynamoDbSync(argv: readonly string[], io: DynamoDbSyncIo): Promise<void> {
  const args = parseDynamoDbArgs(argv);
  const containers = await readContainersFile(args.containers);
  const client = new DynamoDBClient({ maxAttempts: 5 });
  try {
    const documents = DynamoDBDocumentClient.from(client);
    const snapshots = new DynamoDbSnapshotStore(documents, args.table);
    const preview = args.dryRun || args.renderOnly;
    const runner = args.renderOnly ? emptyKernelRunner : args.netns ? netnsRunner(args.netns, io.runner) : io.runner;
    const result = await converge({
      source: snapshots,
      state: new AgentState(args.stateDir),
      containers,
      cellName: args.cellName,
      ...(preview ? {} : { registry: new DynamoDbCellStatusStore(documents, args.table) }),
      sync: { overlayCidr: args.overlayCidr, dryRun: preview, ...(runner ? { runner } : {}) },
    });
    if (preview) {
      const sets = [...result.sync.setsBefore, ...result.sync.setsAfter].map((line) => `# ipset: ${line}\n`).join('');
      io.stdout(`${sets}${result.sync.payload ?? '# no changes\n'}`);
    }
    if (result.version < args.minVersion) {
      io.stderr(
        `warning: asked for policy version >= ${args.minVersion}, the table offers ${result.version}; applied that\n`,
      );
    }
    io.stdout(
      `${JSON.stringify({
        version: result.version,
        origin: result.origin,
        changed: result.sync.changed,
        applied: !preview,
        rules: result.sync.stats.rules,
        containers: containers.length,
        reported: result.reported,
      })}\n`,
    );
  } finally {
    client.destroy();
  }
}
