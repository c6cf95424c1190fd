// What every `npm run demo` walk stands on: a namespace lab and a scratch folder that are removed at
// the end and on Ctrl-C, local mode started in memory with the lab's cells, and an API caller that
// prints each call. The walks (local/demo.ts, local/demo-asg.ts) only say what they do and probe.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCommandHelper } from '../agent/command-helper.js';
import { bundleAgent } from '../bundling/agent-bundle.js';
import { silentLog } from '../core/log.js';
import type { DenyNetworks } from '../core/plan/plan.js';
import { DEFAULT_TABLE_NAME } from '../core/store/table-definition.js';
import { inProcessAgentRunner } from './cells/agent-in-process.js';
import { cellProxies } from './cells/cell-proxies.js';
import type { LocalCell } from './cells/local-cells.js';
import type { AgentRunner } from './cells/local-dispatcher.js';
import { createLab, type Lab, type LabOptions } from './lab/netns-lab.js';
import { type LocalMode, startLocalMode } from './local-mode.js';

/** What a shell reports for a run ended by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export const say = (text: string): void => console.log(text);
export const step = (text: string): void => console.log(`\n▶ ${text}`);
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One container of a cell's containers file (CF's metadata store). */
export interface DemoContainer {
  readonly handle: string;
  readonly ip: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Calls the API with the demo's token, prints `METHOD path → status`, and returns the parsed body. */
export type DemoCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

export interface DemoLocal {
  readonly local: LocalMode;
  readonly call: DemoCall;
}

export interface DemoLocalOptions {
  readonly denyNetworks?: DenyNetworks;
  /**
   * Host names: every cell's namespace resolves with this nameserver (its /etc/netns/<ns>/resolv.conf,
   * removed with the stage), and runs local mode's host-name refresh and cell proxy (cell-names.ts,
   * cell-proxies.ts) as `npm start` does.
   */
  readonly nameserver?: string;
}

export interface DemoStage {
  readonly lab: Lab;
  /**
   * Writes one containers file per cell (`containers[i]` for `lab.cells[i]`), starts local mode in
   * memory with those cells, and stops it with the stage.
   */
  startLocal(containers: readonly (readonly DemoContainer[])[], options?: DemoLocalOptions): Promise<DemoLocal>;
}

/**
 * Builds the lab, runs `walk` on it, and removes everything afterwards (local mode, namespaces, the
 * scratch folder), also when the walk throws and on Ctrl-C (namespaces outlive the process).
 */
export async function onStage<T>(labOptions: LabOptions, walk: (stage: DemoStage) => Promise<T>): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'egress-demo-'));
  let lab: Lab | undefined;
  let stop = async (): Promise<void> => undefined;
  const resolvers: string[] = [];
  const cleanup = async (): Promise<void> => {
    await stop();
    await lab?.destroy();
    for (const dir of resolvers) rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  };
  let interruption: Promise<void> | undefined;
  const interrupted = (): void => {
    interruption ??= cleanup().finally(() => process.exit(EXIT_INTERRUPTED));
  };
  process.on('SIGINT', interrupted);
  try {
    const built = await createLab(labOptions);
    lab = built;
    const result = await walk({
      lab: built,
      startLocal: async (containers, options = {}) => {
        const cells: LocalCell[] = built.cells.map((cell, index) => {
          const file = join(work, `cell-${index + 1}-store.json`);
          const entries = (containers[index] ?? []).map((container) => [container.handle, container]);
          writeFileSync(file, JSON.stringify(Object.fromEntries(entries)));
          return { name: `cell-${index + 1}`, netns: cell.ns, containers: file };
        });
        const stateRoot = join(work, 'cells');
        const { nameserver } = options;
        if (nameserver !== undefined) {
          for (const cell of built.cells) {
            const dir = join('/etc/netns', cell.ns);
            mkdirSync(dir, { recursive: true });
            resolvers.push(dir);
            writeFileSync(join(dir, 'resolv.conf'), `nameserver ${nameserver}\n`);
          }
        }
        const proxies = nameserver === undefined ? undefined : cellProxies({ cells, stateRoot });
        const names =
          nameserver === undefined
            ? undefined
            : {
                agentFile: await bundleAgent(join(work, 'agent')),
                stateRoot,
                ...(options.denyNetworks === undefined ? {} : { denyNetworks: options.denyNetworks }),
              };
        const commands = startCommandHelper();
        let runAgent: AgentRunner = async () => ({ ok: false, output: 'DynamoDB is not up yet' });
        const local = await startLocalMode({
          stateDir: work,
          port: 0,
          inMemory: true,
          onDynamoDbReady: (_endpoint, dynamodb) => {
            runAgent = inProcessAgentRunner({
              dynamodb,
              tableName: DEFAULT_TABLE_NAME,
              stateRoot,
              runner: commands.runner,
              ...(options.denyNetworks === undefined ? {} : { denyNetworks: options.denyNetworks }),
              ...(proxies === undefined ? {} : { proxies }),
            });
          },
          propagation: {
            cells,
            runAgent: (cell, version, verify) => runAgent(cell, version, verify),
            log: silentLog,
            ...(names === undefined ? {} : { names }),
            ...(proxies === undefined ? {} : { proxies }),
          },
        });
        stop = async () => {
          await local.stop();
          commands.stop();
        };
        return { local, call: apiCaller(local.url, await local.issuer.sign()) };
      },
    });
    // A walk that ends on its own after Ctrl-C (a probe saw a namespace go) ends as interrupted too.
    if (interruption) await interruption;
    return result;
  } catch (error) {
    // After Ctrl-C the walk fails on what the cleanup took away (a stopped server, a removed
    // namespace): not an error of its own. The interruption ends the process with 130.
    if (interruption) await interruption;
    throw error;
  } finally {
    await cleanup();
    process.off('SIGINT', interrupted);
  }
}

function apiCaller(url: string, token: string): DemoCall {
  return async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    say(`  ${method} ${path} → ${response.status}`);
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
}
