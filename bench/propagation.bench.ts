// Propagation on local mode (needs root: cells are network namespaces).
// 1. Latency from the API's 2xx to "enforced on every cell", probed with a real TCP connection from
//    each probed cell every 5 ms, over 100 changes after 40 unmeasured ones (DynamoDB Local is a JVM,
//    and it and Node's JIT warm up over the first few dozen: their figures are printed apart), with 1,
//    2 and 10 cells all hosting the changed app, 10 cells each hosting its own app (a change is for
//    one cell), and 2 with the agent as a fresh process. Baseline in the same run: the agent's own
//    run time for one cell, the floor of any push-to-cell design that runs the agent per change.
// 2. DynamoDB reads per agent sync at 10,000 destinations / 100,000 policies: a changed version
//    (pointer + snapshot chunks) and an unchanged one (pointer only), against reading the policy
//    list itself (what GET /egress_policies reads).
// 3. SSM calls per 1,000 policy writes, one writer and four, against one call per record.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { startCommandHelper } from '../agent/command-helper.js';
import { desiredSnapshot } from '../agent/source/dynamodb.js';
import { bundleAgent } from '../bundling/agent-bundle.js';
import { ContentionError } from '../core/domain/errors.js';
import { MAX_ITEMS_PER_REQUEST } from '../core/domain/schemas.js';
import type { EgressPolicy } from '../core/domain/types.js';
import { silentLog } from '../core/log.js';
import { queryPartition } from '../core/store/dynamodb-io.js';
import { DynamoDbPolicyStore } from '../core/store/dynamodb-policy-store.js';
import { DynamoDbSnapshotStore } from '../core/store/snapshot-store.js';
import { documentClient, storesFor } from '../core/store/table-stores.js';
import { createFanoutHandler } from '../lambdas/fanout/fanout.js';
import { noFanoutMetrics } from '../lambdas/fanout/fanout-metrics.js';
import { publishedStateOf, publishSnapshot } from '../lambdas/fanout/snapshot-publisher.js';
import { isVersionRecord } from '../lambdas/fanout/stream-filter.js';
import { inProcessAgentRunner } from '../local/cells/agent-in-process.js';
import { agentProcessRunner } from '../local/cells/agent-process.js';
import type { LocalCell } from '../local/cells/local-cells.js';
import { ensureTable, LOCAL_CLIENT_CONFIG, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { createLab, type Lab, type LabContainer, labPrerequisiteProblem } from '../local/lab/netns-lab.js';
import { startLocalMode } from '../local/local-mode.js';
import { LocalStreamReader } from '../local/propagation/stream-reader.js';
import { percentile, printTable, sample, timeMs } from './lib/stats.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const WARMUP_CHANGES = Number(process.env.BENCH_WARMUP_CHANGES ?? 40);
const SCALE = Number(process.env.BENCH_DESTINATIONS ?? 10_000);
/** Policies for the reads benchmark: spread evenly over the destinations, ten per app. */
const POLICIES = Number(process.env.BENCH_POLICIES ?? 100_000);
const POLICIES_PER_APP = 10;
const WRITES = Number(process.env.BENCH_WRITES ?? 1_000);
const PROBE_EVERY_MS = 5;
// The API takes CF GUIDs as sources by default.
const APP = 'be9c0000-0000-4000-8000-0000000000a1';
const HOST = '198.51.100.10';
const PORT = 3306;
const API = '/networking/v1/external';

const ddb = await startDynamoDbLocal();
const work = mkdtempSync(join(tmpdir(), 'egress-bench-prop-'));
try {
  const problem = labPrerequisiteProblem();
  if (problem) console.log(`latency benchmark not run: ${problem}`);
  else {
    const agentFile = await bundleAgent(join(work, 'agent'));
    const only = process.env.BENCH_PROPAGATION_ONLY;
    // BENCH_LATENCY=10:in-process,2:process picks the runs; `:own` gives each cell an app of its own.
    const runs = (process.env.BENCH_LATENCY ?? '1:in-process,2:in-process,10:in-process,10:in-process:own,2:process')
      .split(',')
      .filter((run) => run !== '')
      .map((run) => {
        const [cells, mode, apps = 'same'] = run.split(':');
        if (mode !== 'in-process' && mode !== 'process') throw new Error(`BENCH_LATENCY: bad run ${run}`);
        if (apps !== 'same' && apps !== 'own') throw new Error(`BENCH_LATENCY: bad run ${run}`);
        return [Number(cells), mode, apps] as const;
      });
    for (const [cellCount, mode, apps] of runs) await latency(cellCount, mode, apps, agentFile);
    if (only === 'latency') process.exit(0);
  }
  await readsPerSync();
  await ssmCallsPerWrites();
} finally {
  await ddb.stop();
  rmSync(work, { recursive: true, force: true });
}

/**
 * `in-process`: local mode's default, the agent's converge() in the local-mode process.
 * `process`: the bundled agent as a fresh Node process per sync, as SSM runs it on a cell.
 * `same`: every cell hosts the app every change is for, so every change is work for every cell (the
 * worst case). `own`: each cell hosts an app of its own and the changes take the cells' apps in
 * turn: a change is work for one cell only, the one probed (issue 13 item 3 tells only that one).
 */
async function latency(
  cellCount: number,
  mode: 'in-process' | 'process',
  apps: 'same' | 'own',
  agentFile: string,
): Promise<void> {
  const lab: Lab = await createLab({
    tag: `bp${cellCount}${mode === 'process' ? 'p' : 'i'}${apps === 'own' ? 'o' : ''}`,
    cells: Array.from({ length: cellCount }, () => ({ count: 1 })),
    external: { addresses: [HOST], tcpPorts: [PORT] },
  });
  const tableName = `latency-${cellCount}-${mode}-${apps}`;
  const appOf = (cell: number): string =>
    apps === 'same' ? APP : `${APP.slice(0, -3)}${String(cell).padStart(3, '0')}`;
  try {
    const containers = lab.cells.map((cell) => cell.containers[0]).filter((c) => c !== undefined);
    const cells: LocalCell[] = lab.cells.map((cell, index) => {
      const file = join(work, `store-${cellCount}-${mode}-${apps}-${index}.json`);
      const ip = cell.containers[0]?.ip ?? '';
      writeFileSync(
        file,
        JSON.stringify({ h: { handle: 'h', ip, metadata: { app_id: appOf(index), space_id: 's' } } }),
      );
      return { name: `cell-${index + 1}`, netns: cell.ns, containers: file };
    });
    const stateRoot = join(work, `cells-${cellCount}-${mode}-${apps}`);
    const agentClient = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ddb.endpoint });
    // As `npm start` runs them: in-process agents start their commands through the command helper.
    const helper = startCommandHelper();
    const runner =
      mode === 'process'
        ? agentProcessRunner({ agentFile, tableName, dynamodbEndpoint: ddb.endpoint, stateRoot })
        : inProcessAgentRunner({ dynamodb: agentClient, tableName, stateRoot, runner: helper.runner });
    // Agent runs per cell, to show which cells a change set to work.
    const runs = new Map<string, number>();
    const runAgent: typeof runner = (cell, minVersion, verify) => {
      runs.set(cell.name, (runs.get(cell.name) ?? 0) + 1);
      return runner(cell, minVersion, verify);
    };
    const local = await startLocalMode({
      stateDir: join(work, `local-${cellCount}-${mode}-${apps}`),
      port: 0,
      dynamodbEndpoint: ddb.endpoint,
      tableName,
      propagation: {
        cells,
        runAgent,
        // Nothing periodic during the measurements.
        republishIntervalMs: 3_600_000,
        resyncIntervalMs: 3_600_000,
        log: silentLog,
      },
    });
    try {
      const token = await local.issuer.sign();
      const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
        const response = await fetch(`${local.url}${API}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}` },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status}`);
        return response.json();
      };
      const created = (await call('POST', '/destinations', {
        destinations: [
          { name: 'db', ips: [{ start: HOST, end: HOST }], ports: [{ start: PORT, end: PORT }], protocol: 'tcp' },
        ],
      })) as { destinations: { id: string }[] };
      const destinationId = created.destinations[0]?.id ?? '';
      await local.propagation?.dispatcher.idle();
      // Each probed cell's prober tries a connection every 5 ms, as issue 13 measures, and says when
      // the first one gave `expected` (it times itself: no message per probe to keep this process busy).
      const enforced = async (probed: readonly LabContainer[], expected: 'open' | 'refused'): Promise<bigint> => {
        const seen = await Promise.all(
          probed.map((container) => lab.watchTcp(container, HOST, PORT, expected, PROBE_EVERY_MS, 30_000)),
        );
        let last = 0n;
        for (const at of seen) {
          if (at === 'timeout') throw new Error(`not ${expected} on every probed cell within 30 s`);
          if (at > last) last = at;
        }
        return last;
      };
      const msSince = (start: bigint, end: bigint): number => Number(end - start) / 1e6;
      let policyId = '';
      // From the 2xx (the answer's arrival) to enforced: the API call itself is not counted.
      const warmup: number[] = [];
      const samples: number[] = [];
      runs.clear();
      for (let index = 0; index < WARMUP_CHANGES + CHANGES; index += 1) {
        const into = index < WARMUP_CHANGES ? warmup : samples;
        // A create and its delete go to the same cell's app; `own` moves on to the next cell after.
        const cell = Math.floor(index / 2) % cellCount;
        const probed = apps === 'same' ? containers : containers.slice(cell, cell + 1);
        if (index % 2 === 0) {
          const body = (await call('POST', '/egress_policies', {
            egress_policies: [{ source: { id: appOf(cell) }, destination: { id: destinationId } }],
          })) as { egress_policies: { id: string }[] };
          const answered = process.hrtime.bigint();
          policyId = body.egress_policies[0]?.id ?? '';
          into.push(msSince(answered, await enforced(probed, 'open')));
        } else {
          await call('DELETE', `/egress_policies/${policyId}`);
          const answered = process.hrtime.bigint();
          into.push(msSince(answered, await enforced(probed, 'refused')));
        }
      }
      await local.propagation?.dispatcher.idle();
      const agentRuns = [...runs.values()].reduce((sum, count) => sum + count, 0);
      const firstCell = cells[0] as LocalCell;
      const baseline = await sample(20, () => runAgent(firstCell, 0));
      const where = apps === 'same' ? 'every cell (all host the changed app)' : 'the one cell hosting the changed app';
      printTable(
        `Propagation latency, ${cellCount} cells, agent ${mode}: API 2xx → enforced on ${where} (real TCP probes)`,
        { name: `baseline: one agent run (${mode}) on one cell`, samples: baseline },
        [
          { name: `change → enforced (${CHANGES} changes)`, samples },
          { name: `  the ${WARMUP_CHANGES} warm-up changes before them`, samples: warmup },
        ],
      );
      console.log(
        `  agent runs: ${(agentRuns / (WARMUP_CHANGES + CHANGES)).toFixed(1)} per change over ${cellCount} cells`,
      );
      const p50 = percentile(samples, 50);
      const p99 = percentile(samples, 99);
      console.log(
        `  goals (issue 13): p50 under 100 ms ${p50 < 100 ? 'met' : 'not met'}, p99 under 150 ms ${p99 < 150 ? 'met' : 'not met'}` +
          (mode === 'process'
            ? `; the agent as a fresh process under 500 ms p99: ${percentile(baseline, 99) < 500 ? 'met' : 'not met'}`
            : ''),
      );
    } finally {
      await local.stop();
      agentClient.destroy();
      helper.stop();
    }
  } finally {
    await lab.destroy();
  }
}

/** Counts requests by command name on a client. */
function countRequests(client: DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counts.set(String(context.commandName), (counts.get(String(context.commandName)) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return counts;
}

async function readsPerSync(): Promise<void> {
  const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ddb.endpoint });
  const tableName = 'reads';
  await ensureTable(client, tableName);
  const policies = new DynamoDbPolicyStore({ client: documentClient(client), tableName });
  const destinationIds: string[] = [];
  for (let offset = 0; offset < SCALE; offset += MAX_ITEMS_PER_REQUEST) {
    const size = Math.min(MAX_ITEMS_PER_REQUEST, SCALE - offset);
    const created = await policies.createDestinations(
      Array.from({ length: size }, (_, i) => ({
        name: `d-${offset + i}`,
        ips: [
          {
            start: `203.0.${Math.floor((offset + i) / 250) % 250}.${((offset + i) % 250) + 1}`,
            end: `203.0.${Math.floor((offset + i) / 250) % 250}.${((offset + i) % 250) + 1}`,
          },
        ],
        ports: [{ start: 443, end: 443 }],
        protocol: 'tcp' as const,
      })),
    );
    destinationIds.push(...created.map((destination) => destination.id));
  }
  // Apps with GUIDs, as on CF, POLICIES_PER_APP policies each: policy i is app[i / n] → destination
  // i mod SCALE. Four writers at once, as the API would see them.
  const apps = Array.from({ length: Math.ceil(POLICIES / POLICIES_PER_APP) }, () => randomUUID());
  const batches: number[] = [];
  for (let offset = 0; offset < POLICIES; offset += MAX_ITEMS_PER_REQUEST) batches.push(offset);
  const writer = async (): Promise<void> => {
    for (let offset = batches.shift(); offset !== undefined; offset = batches.shift()) {
      const size = Math.min(MAX_ITEMS_PER_REQUEST, POLICIES - offset);
      const batch = Array.from({ length: size }, (_, i) => ({
        source: { type: 'app' as const, id: apps[Math.floor((offset + i) / POLICIES_PER_APP)] ?? '' },
        destination: { id: destinationIds[(offset + i) % destinationIds.length] ?? '' },
      }));
      // A 409 means "retry": writers of the same destination counter can collide.
      for (;;) {
        try {
          await policies.createEgressPolicies(batch);
          break;
        } catch (error) {
          if (!(error instanceof ContentionError)) throw error;
        }
      }
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  const snapshots = new DynamoDbSnapshotStore(documentClient(client), tableName);
  await publishSnapshot(
    publishedStateOf({ policies, securityGroups: storesFor(client, tableName).securityGroups }),
    snapshots,
  );
  const pointer = await snapshots.readPointer();
  const formatOneBytes = formatOneSize(await policies.listEgressPolicies());

  const agentClient = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ddb.endpoint });
  const counts = countRequests(agentClient);
  const agentSnapshots = new DynamoDbSnapshotStore(documentClient(agentClient), tableName);
  const changed = await desiredSnapshot(agentSnapshots, undefined, undefined);
  const changedCounts = new Map(counts);
  counts.clear();
  await desiredSnapshot(agentSnapshots, { version: changed.snapshot.version, sha256: changed.sha256 }, changed.bytes);
  const unchangedCounts = new Map(counts);
  counts.clear();
  const listDocuments = documentClient(agentClient);
  const list = await timeMs(async () => [
    ...(await queryPartition(listDocuments, tableName, 'POLICY')),
    ...(await queryPartition(listDocuments, tableName, 'DEST')),
  ]);
  const listCounts = new Map(counts);
  // Stored bytes, roughly: DynamoDB bills reads by item size in 4 KB units (strongly consistent).
  const listBytes = Buffer.byteLength(JSON.stringify(list.value));
  const format = (map: Map<string, number>): string =>
    [...map].map(([command, n]) => `${n} ${command.replace('Command', '')}`).join(' + ');
  const total = (map: Map<string, number>): number => [...map.values()].reduce((a, b) => a + b, 0);
  console.log(
    `\nDynamoDB reads per agent sync at ${SCALE} destinations and ${POLICIES} policies (${apps.length} apps)`,
  );
  console.log(`  snapshot: ${pointer?.bytes ?? 0} bytes gzip'd in ${pointer?.chunks ?? 0} chunk item(s)`);
  console.log(
    `  the same state in snapshot format 1 (a tuple with its id per policy): ${formatOneBytes} bytes (${(formatOneBytes / Math.max(1, pointer?.bytes ?? 0)).toFixed(1)}x larger)`,
  );
  console.log(
    `  version changed:   ${format(changedCounts)} = ${total(changedCounts)} requests, ~${Math.ceil((pointer?.bytes ?? 0) / 4096)} read units`,
  );
  console.log(`  version unchanged: ${format(unchangedCounts)} = ${total(unchangedCounts)} request, 1 read unit`);
  const snapshotUnits = Math.ceil((pointer?.bytes ?? 0) / 4096);
  const listUnits = Math.ceil(listBytes / 4096);
  console.log(
    `  baseline, reading the policy and destination items themselves: ${format(listCounts)} = ${total(listCounts)} requests, ` +
      `${list.value.length} items, ~${Math.round(listBytes / 1024)} KB, ~${listUnits} read units ` +
      `(a changed sync reads ${(listUnits / Math.max(1, snapshotUnits)).toFixed(1)}x less, an unchanged one ${listUnits}x less)`,
  );
  console.log('  per sync, independent of the number of cells: each cell reads the same pointer and chunks');
  client.destroy();
  agentClient.destroy();
}

async function ssmCallsPerWrites(): Promise<void> {
  console.log(`\nSSM calls per ${WRITES} policy writes (commands the fan-out sends)`);
  for (const writers of (process.env.BENCH_SSM_WRITERS ?? '1,4').split(',').map(Number)) {
    let contended = 0;
    const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ddb.endpoint });
    const tableName = `ssm-${writers}`;
    await ensureTable(client, tableName);
    const policies = new DynamoDbPolicyStore({ client: documentClient(client), tableName });
    const snapshots = new DynamoDbSnapshotStore(documentClient(client), tableName);
    let commands = 0;
    let records = 0;
    const handler = createFanoutHandler({
      policies: publishedStateOf({ policies, securityGroups: storesFor(client, tableName).securityGroups }),
      snapshots,
      commander: {
        syncCells: async () => {
          commands += 1;
        },
      },
      log: silentLog,
      metrics: noFanoutMetrics,
    });
    const description = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const reader = new LocalStreamReader({
      client: new DynamoDBStreamsClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ddb.endpoint }),
      streamArn: description.Table?.LatestStreamArn ?? '',
      filter: isVersionRecord,
      handler: async (event) => {
        records += event.Records.length;
        return handler(event);
      },
      onFailure: async () => undefined,
    });
    await reader.start();
    const [destination] = await policies.createDestinations([
      { name: 'db', ips: [{ start: HOST, end: HOST }], ports: [{ start: PORT, end: PORT }], protocol: 'tcp' },
    ]);
    let next = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let index = next++; index < WRITES; index = next++) {
          const input = {
            source: { type: 'app' as const, id: `app-${index}` },
            destination: { id: destination?.id ?? '' },
          };
          // A write that kept losing the version race answers 409; a client retries it, as here.
          for (;;) {
            try {
              await policies.createEgressPolicies([input]);
              break;
            } catch (error) {
              if (!(error instanceof ContentionError)) throw error;
              contended += 1;
            }
          }
        }
      }),
    );
    const target = WRITES + 1;
    const deadline = Date.now() + 60_000;
    while (records < target && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await reader.stop();
    console.log(
      `  ${writers} writer(s): ${commands} SendCommand calls for ${records} version records ` +
        `(baseline one per record: ${records}; ${(records / Math.max(1, commands)).toFixed(1)}x fewer); ` +
        `writes that answered 409 and were retried: ${contended}`,
    );
    client.destroy();
  }
}

/** Size of format 1, the baseline of format 2: one [policy id, type, source id, index] per policy. */
function formatOneSize(list: readonly EgressPolicy[]): number {
  const indexById = new Map<string, number>();
  const destinations: unknown[] = [];
  const tuples = list.map((policy) => {
    let index = indexById.get(policy.destination.id);
    if (index === undefined) {
      index = destinations.push(policy.destination) - 1;
      indexById.set(policy.destination.id, index);
    }
    return [policy.id, policy.source.type, policy.source.id, index];
  });
  return gzipSync(JSON.stringify({ format: 1, version: 0, destinations, policies: tuples })).length;
}
