// The proxy's part of a sync: the layer-7 plan (core/plan/layer7.ts) → HAProxy's configuration, then
// the nat redirects. Run after the filter rules are in force (converge.ts), so that the filter
// table never allows what the proxy is meant to decide, whatever happens here.
//
// Order, so that no connection is let through by a stale rule:
//   1. the configuration: checked by `haproxy -c`, then reloaded (or started, or written for the
//      systemd unit to start); when that fails the redirects are removed (the running proxy keeps
//      its previous configuration, which may allow what the new state revoked) and the error thrown;
//   2. the redirects, in one nat transaction (interception.ts).
// A destination removed is refused by the proxy from step 1 on; one added is redirected only once
// the proxy knows it. With no layer-7 destination on the cell, the redirects are removed and the
// proxy is left as it is (it receives nothing).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Layer7Plan } from '../../core/plan/layer7.js';
import type { Layer7Conflict } from '../../core/plan/layer7-conflicts.js';
import type { CommandRunner } from '../runner.js';
import { renderHaproxyConfig } from './haproxy-config.js';
import type { ProxyProcess } from './haproxy-process.js';
import { applyInterception, planInterception, removeInterception } from './interception.js';
import { parseL7Rules } from './l7-rule.js';
import { readOwnAddresses } from './own-addresses.js';
import { DEFAULT_REFUSED_NETWORKS, type ProxySettings } from './settings.js';

export interface ProxySyncOptions {
  readonly process: ProxyProcess;
  /** The cell's kernel (its namespace for a local cell). */
  readonly runner: CommandRunner;
  readonly settings: ProxySettings;
  /**
   * `start`: the agent starts HAProxy when it is not running (local mode). `service`: a systemd unit
   * runs it (cells); when it is down the checked configuration is only written, for the unit to
   * start on, and intercepted connections are refused meanwhile (closed port).
   */
  readonly manage: 'start' | 'service';
}

export type ProxyAction = 'started' | 'reloaded' | 'unchanged' | 'written' | 'none';

export interface ProxySyncResult {
  readonly destinations: number;
  readonly redirects: number;
  readonly proxy: ProxyAction;
  /** Containers the plan left out of two destinations claiming one port as http and https; absent when none. */
  readonly conflicts?: readonly Layer7Conflict[];
}

export async function syncProxy(plan: Layer7Plan, options: ProxySyncOptions): Promise<ProxySyncResult> {
  // Checked here (a trust boundary: every value reaches HAProxy's configuration or iptables), and
  // again by the renderer and the interception planner.
  const rules = parseL7Rules(plan.destinations);
  const redirects = planInterception(rules, options.settings, plan.allowances);
  const conflicts = plan.conflicts.length === 0 ? {} : { conflicts: plan.conflicts };
  if (redirects.length === 0) {
    await removeInterception(options.runner);
    return { destinations: rules.length, redirects: 0, proxy: 'none', ...conflicts };
  }
  let proxy: ProxyAction;
  try {
    // The cell's own addresses join the refused networks (own-addresses.ts). Read when a
    // configuration is written: by an input change, or the periodic full sync, which follows a cell
    // whose addresses changed.
    const own = await readOwnAddresses(options.runner);
    const refused = options.settings.refusedNetworks ?? DEFAULT_REFUSED_NETWORKS;
    const settings = { ...options.settings, refusedNetworks: [...new Set([...refused, ...own])] };
    proxy = await putConfig(renderHaproxyConfig(rules, settings), options);
  } catch (error) {
    // The previous configuration is still in force, and the redirects to it would go on letting
    // through what the new state revoked. Without them every layer-7 connection meets the filter
    // rules, which refuse it, until a run succeeds (fail closed; connections already open keep
    // their translation).
    await removeInterception(options.runner).catch(() => undefined);
    throw error;
  }
  await applyInterception(options.runner, redirects);
  return { destinations: rules.length, redirects: redirects.length, proxy, ...conflicts };
}

async function putConfig(config: string, options: ProxySyncOptions): Promise<ProxyAction> {
  const { process } = options;
  const { config: path } = process.paths;
  const running = (await process.status()) !== undefined;
  if (running) {
    if (existsSync(path) && readFileSync(path, 'utf8') === config) return 'unchanged';
    await process.reload(config);
    return 'reloaded';
  }
  if (options.manage === 'start') {
    await process.start(config);
    return 'started';
  }
  await process.check(config);
  const next = `${path}.agent`;
  writeFileSync(next, config, { mode: 0o600 });
  renameSync(next, path);
  return 'written';
}
