// The cell proxy of local cells (docs/proxy.md): one HAProxy per cell with a namespace, in that
// namespace, started by the cell's agent on its first sync that has an http or https destination
// (`--proxy-start`: no systemd here) and stopped with local mode. Its directory is the cell's state
// directory's `proxy/`; its resolvers are the cell's (/etc/netns/<ns>/resolv.conf when there is one,
// as `ip netns exec` gives the namespace's processes, else the host's), read on every sync. Without
// haproxy on the machine there is no proxy and http and https destinations allow nothing, as on a
// cell without it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import type { CellProxyOptions } from '../../agent/cell-agent.js';
import { parseResolvConf, RESOLV_CONF } from '../../agent/names/resolv-conf.js';
import { createProxyProcess } from '../../agent/proxy/haproxy-process.js';
import { netnsRunner } from '../../agent/runner.js';
import type { LocalCell } from './local-cells.js';

export interface CellProxies {
  /** `on`, or why not. */
  readonly state: string;
  /** The in-process agent's proxy option for `cell`; undefined without a proxy (or a namespace). */
  optionsFor(cell: LocalCell): CellProxyOptions | undefined;
  /** The same as `agent sync` flags, for an agent run as a process. */
  argsFor(cell: LocalCell): string[];
  /** Stops every cell's proxy (those never started are nothing to stop). */
  stop(): Promise<void>;
}

export interface CellProxiesOptions {
  readonly cells: readonly LocalCell[];
  /** Each cell's state directory is <stateRoot>/<cell name>. */
  readonly stateRoot: string;
  /** For tests. @default whether `haproxy -v` runs */
  readonly haproxy?: boolean;
}

export const haproxyInstalled = (): boolean => {
  const result = spawnSync('haproxy', ['-v'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
};

/**
 * The IPv4 nameservers a process in `ns` would use (HAProxy's resolvers section takes IPv4 here).
 * None when the file cannot be read or parsed: the cell's sync still applies its filter rules, and
 * its proxy step then fails naming the missing nameservers (http and https allow nothing).
 */
export function namespaceNameservers(ns: string): string[] {
  const own = join('/etc/netns', ns, 'resolv.conf');
  const file = existsSync(own) ? own : RESOLV_CONF;
  try {
    return parseResolvConf(readFileSync(file, 'utf8'), file).filter((address) => isIPv4(address));
  } catch {
    return [];
  }
}

export function cellProxies(options: CellProxiesOptions): CellProxies {
  const installed = options.haproxy ?? haproxyInstalled();
  const dirOf = (cell: LocalCell): string => join(options.stateRoot, cell.name, 'proxy');
  const optionsFor = (cell: LocalCell): CellProxyOptions | undefined => {
    if (!installed || cell.netns === undefined) return undefined;
    const netns = cell.netns;
    // Read at each proxy step (the namespace's resolv.conf may change); none fails that step only.
    return { dir: dirOf(cell), settings: async () => ({ nameservers: namespaceNameservers(netns) }), manage: 'start' };
  };
  return {
    state: installed ? 'on' : 'off (haproxy is not installed: http and https destinations allow nothing)',
    optionsFor,
    argsFor: (cell) => {
      const proxy = optionsFor(cell);
      if (proxy === undefined || cell.netns === undefined) return [];
      const nameservers = namespaceNameservers(cell.netns);
      // Without any, the agent reads /etc/resolv.conf itself (and fails its proxy step if that has none).
      const resolvers = nameservers.length === 0 ? [] : ['--proxy-nameservers', nameservers.join(',')];
      return ['--proxy-dir', proxy.dir, ...resolvers, '--proxy-start'];
    },
    stop: async () => {
      if (!installed) return;
      await Promise.all(
        options.cells.flatMap((cell) =>
          cell.netns === undefined
            ? []
            : [
                createProxyProcess({ dir: dirOf(cell), runner: netnsRunner(cell.netns) })
                  .stop()
                  .catch(() => undefined),
              ],
        ),
      );
    },
  };
}
