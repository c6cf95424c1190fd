// `agent sync --from-dynamodb …`, what SSM runs on a cell: desired state from the policy table's
// snapshot, applied only forward, reported back. Ends with one log line (sync-summary.ts) on stdout.
// Region and endpoint come from the standard AWS environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB).
// `--netns` (local mode) programs the kernel of that network namespace while the agent itself, and
// its DynamoDB traffic, stay on the host, as a cell's agent reaches the table over the cell's own network.
import { isIPv4 } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { jsonLineLog } from '../core/log.js';
import { createCellAgent } from './cell-agent.js';
import type { SyncFromTable } from './cli-args.js';
import type { CliIo } from './cli-io.js';
import { describeDryRun, payloadText } from './dry-run-text.js';
import { readResolvConf } from './names/resolv-conf.js';
import { agentTable } from './policy-table.js';
import type { SyncMemory } from './sync-memory.js';
import { AGENT_SERVICE, CELL_SYNCED, changes, HOST_SET_KEPT, PROXY_PORT_CONFLICT } from './sync-summary.js';

/** What `agent serve` keeps for all its syncs: one client, and what a sync may reuse of the last. */
export interface ResidentParts {
  readonly client: DynamoDBClient;
  readonly memory: SyncMemory;
}

/** How long the table's client waits: to connect, and for the next bytes of an answer. */
export interface TableClientTimeouts {
  readonly connectMs: number;
  readonly idleMs: number;
}

/**
 * Without them a table that accepts connections and never answers (a black-holing proxy or network
 * path) holds a sync, and the cell's sync lock, until the SSM step or the unit kills it. Each read
 * gets five attempts of at most 2 + 3 s and the retries' backoff (at most 3.1 s): a read the table
 * does not answer fails within 28.1 s, before the shortest step timeout the stack allows (30 s).
 * Answers stream without pauses, however large. The report after an apply is one more such read.
 */
export const TABLE_CLIENT_TIMEOUTS: TableClientTimeouts = { connectMs: 2_000, idleMs: 3_000 };

export const tableClient = (timeouts: TableClientTimeouts = TABLE_CLIENT_TIMEOUTS): DynamoDBClient =>
  new DynamoDBClient({
    maxAttempts: 5,
    requestHandler: { connectionTimeout: timeouts.connectMs, socketTimeout: timeouts.idleMs },
  });

/**
 * One sync; returns the policy version the table offered. `resident`: the client and memory of a
 * resident agent (cli-serve.ts), else a client of its own for this sync.
 */
export async function syncFromTable(args: SyncFromTable, io: CliIo, resident?: ResidentParts): Promise<number> {
  const started = performance.now();
  const client = resident?.client ?? tableClient();
  try {
    const agent = createCellAgent({
      ...agentTable(DynamoDBDocumentClient.from(client), args.table),
      ...(resident === undefined ? {} : { memory: resident.memory }),
      stateDir: args.stateDir,
      cellName: args.cellName,
      containersFile: args.containers,
      overlayCidr: args.overlayCidr,
      unknownSources: args.unknownSources,
      verify: args.verify,
      denyLog: args.denyLog,
      denyNetworks: args.denyNetworks,
      mode: args.mode,
      netns: args.netns,
      runner: io.runner,
      ...(args.proxy === undefined
        ? {}
        : {
            proxy: {
              dir: args.proxy.dir,
              // Read at the proxy step: a resolv.conf it cannot use (unreadable, malformed, or IPv6
              // only, which HAProxy's resolvers section does not take here: settings.ts) fails that
              // step, after the filter rules, and closes layer 7; it never holds back a filter change.
              settings:
                args.proxy.nameservers === undefined
                  ? async () => ({ nameservers: (await readResolvConf()).filter((ip) => isIPv4(ip)) })
                  : { nameservers: args.proxy.nameservers },
              manage: args.proxy.manage,
            },
          }),
    });
    const result = await agent.sync();
    // A dry run against this kernel starts with the readable account; render-only prints the ruleset alone.
    if (args.mode === 'dry-run') io.stdout(describeDryRun(result.sync, result.containers, result.previous?.()));
    if (args.mode === 'render-only') io.stdout(payloadText(result.sync));
    if (result.version < args.minVersion) {
      io.stderr(
        `warning: asked for policy version >= ${args.minVersion}, the table offers ${result.version}; applied that\n`,
      );
    }
    const log = jsonLineLog({ service: AGENT_SERVICE, write: (line) => io.stdout(`${line}\n`) });
    for (const problem of result.sync.hostSetProblems ?? []) log.warn(HOST_SET_KEPT, { problem });
    if (result.proxy !== undefined && 'conflicts' in result.proxy) {
      for (const conflict of result.proxy.conflicts ?? []) log.warn(PROXY_PORT_CONFLICT, { ...conflict });
    }
    log.info(CELL_SYNCED, {
      ...result.summary,
      ...changes(result.sync, performance.now() - started),
      ...(result.proxy === undefined ? {} : { proxy: result.proxy }),
    });
    return result.version;
  } finally {
    if (resident === undefined) client.destroy();
  }
}
