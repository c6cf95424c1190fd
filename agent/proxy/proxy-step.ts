// The proxy's part of a cell's convergence (converge.ts): plan the layer-7 destinations of the
// state just applied to the filter table and sync the proxy to them (proxy-sync.ts), unless the
// proxy already holds exactly these inputs. What it last synced is recorded in its directory, the
// way the filter table records its own (applied-record.ts), so an unchanged periodic sync neither
// decodes the snapshot nor touches HAProxy.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PoliciesWithGroups } from '../../core/domain/snapshot-groups.js';
import { planLayer7 } from '../../core/plan/layer7.js';
import type { Container } from '../../core/plan/model.js';
import { shortHash } from '../../core/plan/names.js';
import { PLAN_LAYOUT } from '../applied-record.js';
import { type ProxySyncOptions, type ProxySyncResult, syncProxy } from './proxy-sync.js';

export interface ProxyStepInput {
  /** The digest of the desired state (its checksum). */
  readonly policiesDigest: string;
  readonly policies: () => PoliciesWithGroups;
  readonly containers: readonly Container[];
  /** Sync even when the record says these inputs are in place (the periodic repair run). */
  readonly force: boolean;
}

export type ProxyStepResult = ProxySyncResult | { readonly proxy: 'recorded' };

const RECORD_FILE = 'synced-inputs';

export async function proxyStep(options: ProxySyncOptions, input: ProxyStepInput): Promise<ProxyStepResult> {
  const dir = dirname(options.process.paths.config);
  const record = join(dir, RECORD_FILE);
  const digest = shortHash(
    // The plan's layout too: an upgrade that plans the same inputs differently (host-set names) syncs again.
    JSON.stringify({
      layout: PLAN_LAYOUT,
      policies: input.policiesDigest,
      containers: input.containers,
      settings: options.settings,
    }),
    32,
  );
  // `<digest> proxied` when the proxy carries redirects, `<digest> idle` when the cell needs none.
  const [recordedDigest, needed] = !input.force && existsSync(record) ? readFileSync(record, 'utf8').split(' ') : [];
  if (recordedDigest === digest) {
    // A proxy the agent runs itself is started again if it died since (the unit restarts its own).
    const alive =
      needed !== 'proxied' || options.manage === 'service' || (await options.process.status()) !== undefined;
    if (alive) return { proxy: 'recorded' };
  }
  // Forgotten as a sync starts: one that fails may have changed the proxy (a refused configuration
  // takes the redirects away), so a record of earlier inputs would no longer say what is in place,
  // and those inputs coming back must be synced, not answered `recorded`.
  rmSync(record, { force: true });
  const result = await syncProxy(planLayer7(input.policies(), input.containers), options);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(`${record}.next`, `${digest} ${result.redirects > 0 ? 'proxied' : 'idle'}`);
  renameSync(`${record}.next`, record);
  return result;
}
