// Propagation at fleet scale, on DynamoDB Local: what one change costs the table when each cell reads
// only the source shards it hosts and only the cells hosting a changed source are told, against the
// old design in the same run (every cell told, every cell reads the whole snapshot).
//
// 100,000 policies to 10,000 destinations from 5,000 apps (20 each) in 500 spaces of 50 orgs; fleets
// of 100, 1,000 and 10,000 cells, each hosting 25 apps drawn at random. For one policy change (an
// app gains a policy) and one destination update (a destination used by several apps moves), it
// prints the cells told, read units summed over them (ConsumedCapacity, strongly consistent reads),
// the most read units on one partition key, the bytes one affected and one unaffected told cell read,
// and the time to converge estimated from DynamoDB's documented 3,000 read units per second per
// partition (reads spread over keys proceed in parallel), the fan-out's read of the reports first.
// Each cell's reads are run for real by the
// agent's own code (`desiredSnapshot`) for one affected and one unaffected cell; the others read the
// same items, so their cost is counted from those. The fan-out's read of the cells' reports (the
// CELL partition) is measured too, with the fleet's reports written for real.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DesiredSnapshot } from '../agent/source/desired-state.js';
import { desiredSnapshot } from '../agent/source/dynamodb.js';
import type { CellReport } from '../core/domain/cells.js';
import { hostedShardKeys, type ShardKey } from '../core/domain/shard-keys.js';
import { buildSnapshot, encodeSnapshot } from '../core/domain/snapshot.js';
import type { Destination, EgressPolicy } from '../core/domain/types.js';
import { DynamoDbCellStatusStore } from '../core/store/cell-status-store.js';
import { shardedSnapshotStore } from '../core/store/sharded-snapshot-store.js';
import { documentClient } from '../core/store/table-stores.js';
import { cellsToTell } from '../lambdas/fanout/cell-targets.js';
import { ensureTable, LOCAL_CLIENT_CONFIG, startDynamoDbLocal } from '../local/dynamodb-local.js';
import { prng } from './lib/agent-scenario.js';
import { emptyTally, meterReads, type ReadTally } from './lib/read-meter.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const APPS = 5_000;
const DESTINATIONS = 10_000;
const PER_APP = 20;
const APPS_PER_CELL = 25;
const FLEETS = (process.env.SCALE_FLEETS ?? '100,1000,10000').split(',').map(Number);
const PARTITION_UNITS_PER_SECOND = 3_000;
const NOW = new Date();

const random = prng(13);
const appId = (index: number) => `app-${index}`;
const spaceOf = (app: number) => `space-${app % 500}`;
const orgOf = (app: number) => `org-${app % 50}`;
const destinations: Destination[] = Array.from({ length: DESTINATIONS }, (_, index) => ({
  id: `dest-${index}`,
  name: `destination ${index}`,
  protocol: 'tcp',
  ips: [{ start: `10.${index >> 8}.${index & 255}.1`, end: `10.${index >> 8}.${index & 255}.1` }],
  ports: [{ start: 443, end: 443 }],
}));
let policies: EgressPolicy[] = [];
for (let app = 0; app < APPS; app += 1) {
  for (let k = 0; k < PER_APP; k += 1) {
    const destination = destinations[(app * PER_APP + k) % DESTINATIONS] as Destination;
    policies.push({ id: `p-${app}-${k}`, source: { type: 'app', id: appId(app) }, destination });
  }
}

const ddb = await startDynamoDbLocal();
try {
  const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: ddb.endpoint });
  const tableName = 'scale-bench';
  await ensureTable(client, tableName);
  let tally: ReadTally | undefined;
  meterReads(client, () => tally);
  const documents = documentClient(client);
  const store = shardedSnapshotStore(documents, tableName);
  const cellStore = new DynamoDbCellStatusStore(documents, tableName);
  let version = 1;
  const setupStart = performance.now();
  await store.write(encodeSnapshot(buildSnapshot(version, policies)));
  console.log(
    `${policies.length} policies, ${DESTINATIONS} destinations, ${APPS} apps; first publish (every shard) ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
  );

  const measure = async <T>(run: () => Promise<T>): Promise<{ value: T; reads: ReadTally }> => {
    tally = emptyTally();
    const reads = tally;
    try {
      return { value: await run(), reads };
    } finally {
      tally = undefined;
    }
  };

  /** A cell hosting these apps, synced to the current version (unmeasured), ready to sync again. */
  const cellAt = async (apps: readonly number[]) => {
    const hosted = hostedShardKeys(
      apps.map((app) => ({ appId: appId(app), spaceId: spaceOf(app), orgId: orgOf(app) })),
    );
    let desired: DesiredSnapshot = await desiredSnapshot(store, undefined, undefined, hosted);
    return {
      hosted,
      sync: async () => {
        const applied = {
          version: desired.version,
          sha256: desired.sha256,
          epoch: desired.epoch ?? '',
          layout: 'shards' as const,
        };
        desired = await desiredSnapshot(store, applied, desired.bytes, hosted);
        return desired;
      },
    };
  };

  const rows: string[][] = [];
  for (const fleet of FLEETS) {
    const cells = Array.from({ length: fleet }, () => {
      const apps = new Set<number>();
      while (apps.size < APPS_PER_CELL) apps.add(Math.floor(random() * APPS));
      return [...apps];
    });
    const reports: CellReport[] = cells.map((apps, index) => ({
      name: `i-${String(index).padStart(17, '0')}`,
      appliedVersion: version,
      appliedAt: NOW.toISOString(),
      syncedAt: NOW.toISOString(),
      containers: APPS_PER_CELL,
      rules: 0,
      sources: hostedShardKeys(apps.map((app) => ({ appId: appId(app), spaceId: spaceOf(app), orgId: orgOf(app) }))),
    }));
    await writeReports(documents, tableName, reports);
    const reportRead = await measure(() => cellStore.list());

    for (const kind of ['policy change', 'destination update'] as const) {
      // The app (or the destination's users) changed, and one cell hosting it and one not.
      const changedApp = cells[0]?.[0] ?? 0;
      const moved = destinations[(changedApp * PER_APP) % DESTINATIONS] as Destination;
      const affected = await cellAt(cells[0] ?? []);
      const unaffectedApps = cells.find((apps) => !apps.includes(changedApp)) ?? [];
      const unaffected = await cellAt(unaffectedApps);
      version += 1;
      if (kind === 'policy change') {
        const extra = destinations[(changedApp * PER_APP + PER_APP) % DESTINATIONS] as Destination;
        policies = [
          ...policies,
          { id: `extra-${version}`, source: { type: 'app', id: appId(changedApp) }, destination: extra },
        ];
      } else {
        const updated: Destination = { ...moved, ips: [{ start: '192.0.2.1', end: '192.0.2.1' }] };
        policies = policies.map((policy) =>
          policy.destination.id === moved.id ? { ...policy, destination: updated } : policy,
        );
      }
      await store.write(encodeSnapshot(buildSnapshot(version, policies)));
      const changed = (await store.readChanges([version])).get(version)?.keys;
      const targets = cellsToTell(changed, reports, { liveCellWindowMs: 3_600_000, now: NOW });
      const told = targets.kind === 'all' ? reports : reports.filter((report) => targets.names.includes(report.name));
      const changedKeys = new Set<ShardKey>(changed === 'all' || changed === undefined ? [] : changed);
      const hosting = told.filter((report) => (report.sources ?? []).some((key) => changedKeys.has(key))).length;
      const affectedRead = await measure(() => affected.sync());
      const unaffectedRead = await measure(() => unaffected.sync());
      // Every told cell hosting the change reads what `affected` read, the others what `unaffected` read.
      const byKey = new Map<string, number>();
      const count = (reads: ReadTally, times: number) => {
        for (const [key, units] of reads.byKey) byKey.set(key, (byKey.get(key) ?? 0) + units * times);
      };
      count(affectedRead.reads, hosting);
      count(unaffectedRead.reads, told.length - hosting);
      const units = affectedRead.reads.units * hosting + unaffectedRead.reads.units * (told.length - hosting);
      const hottest = Math.max(0, ...byKey.values());
      // The old design: every cell told; each reads the pointer and the whole snapshot.
      const old = await measure(async () => {
        const pointer = await store.readPointer();
        if (pointer) await store.readBytes(pointer);
      });
      const oldUnits = old.reads.units * fleet;
      rows.push([
        String(fleet),
        kind,
        targets.kind === 'all' ? `all ${fleet} (${targets.reason})` : String(told.length),
        units.toFixed(0),
        hottest.toFixed(0),
        kb(affectedRead.reads.bytes),
        told.length > hosting ? kb(unaffectedRead.reads.bytes) : '0 (not told)',
        // The fan-out reads the reports (one partition) before anyone is told; then the cells read.
        `${seconds(reportRead.reads.units + hottest)} (fan-out ${seconds(reportRead.reads.units)} + cells ${seconds(hottest)})`,
        `${fleet} told, ${oldUnits.toFixed(0)} units, all on SNAPSHOT, ${kb(old.reads.bytes)} per cell, ${seconds(oldUnits)}`,
        `${reportRead.reads.units.toFixed(0)} units, ${kb(reportRead.reads.bytes)}`,
      ]);
    }
  }
  console.log(
    '\nfleet | change | cells told | read units (all cells) | most on one key | affected cell read | unaffected told cell read | est. converge | old design, same change | fan-out reads reports',
  );
  for (const row of rows) console.log(row.join(' | '));
  console.log(
    `\nGoals (one policy change): at 1,000 cells ≤ 2,000 read units, no key above 1,000, under 5 s; at 10,000 cells under 10 s.`,
  );
} finally {
  await ddb.stop();
}

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}

/** Time for `units` on one partition key at the documented per-partition rate (at least one round trip). */
function seconds(units: number): string {
  return `${Math.max(0.01, units / PARTITION_UNITS_PER_SECOND).toFixed(2)} s`;
}

async function writeReports(
  documents: ReturnType<typeof documentClient>,
  tableName: string,
  reports: readonly CellReport[],
): Promise<void> {
  for (let offset = 0; offset < reports.length; offset += 25) {
    const batch = reports.slice(offset, offset + 25).map((report) => ({
      PutRequest: {
        Item: {
          pk: 'CELL',
          sk: report.name,
          applied_version: report.appliedVersion,
          applied_at: report.appliedAt,
          synced_at: report.syncedAt,
          containers: report.containers,
          rules: report.rules,
          sources: report.sources,
        },
      },
    }));
    let pending: typeof batch | undefined = batch;
    while (pending && pending.length > 0) {
      const result = await documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = result.UnprocessedItems?.[tableName] as typeof batch | undefined;
    }
  }
}
