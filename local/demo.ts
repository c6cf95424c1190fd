// `npm run demo` (root, Linux): builds a small network of namespaces — two cells, each routing for an
// app container, and an external "database" host — starts local mode with those cells, and walks
// the two scenarios of CF's dynamic egress announcement through the HTTP API while real TCP
// connections show what is enforced. Everything is removed at the end, and on Ctrl-C.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { parseWith } from '../core/domain/validation.js';
import { silentLog } from '../core/log.js';
import { DEFAULT_TABLE_NAME } from '../core/store/table-definition.js';
import { API_PREFIX } from '../lambdas/api/routes.js';
import { inProcessAgentRunner } from './cells/agent-in-process.js';
import { EXAMPLE_APP_ID } from './cells/dry-run-cell.js';
import type { LocalCell } from './cells/local-cells.js';
import type { AgentRunner } from './cells/local-dispatcher.js';
import { type CommandLineSpec, EXIT_USAGE, helpRequested, helpText, readCommandLine } from './command-line.js';
import { createLab, type LabContainer, labPrerequisiteProblem, type ProbeResult } from './lab/netns-lab.js';
import { startLocalMode } from './local-mode.js';

const OLD_DB = '198.51.100.10';
const NEW_DB = '203.0.113.20';
const PORT = 3306;
const BACKEND = EXAMPLE_APP_ID;
/** What a shell reports for a run ended by Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

// The two answers the walk reads on; a destination is sent back whole (PUT), so it keeps every field.
const createdSchema = z.object({ destinations: z.array(z.looseObject({ id: z.string() })) });
const cellListSchema = z.object({
  current_version: z.number(),
  cells: z.array(z.object({ name: z.string(), applied_version: z.number(), lag_versions: z.number() })),
});

const say = (text: string): void => console.log(text);
const step = (text: string): void => console.log(`\n▶ ${text}`);

export const DEMO_COMMAND_LINE: CommandLineSpec = {
  usage: 'sudo npm run demo',
  summary:
    'Builds two cells and a "database" host out of network namespaces, starts local mode in memory with\n' +
    "those cells, walks scenario 1 and 2 of CF's dynamic egress announcement through the HTTP API and\n" +
    'prints what real TCP connections see. Everything is removed at the end, and on Ctrl-C.\n' +
    'Needs root on Linux with iproute2, iptables and ping; leaves .local/ alone.',
  options: {},
};

/**
 * Runs the demo; resolves with the exit code (0 also for `--help`, which builds nothing; 2 for an
 * unknown argument or a machine that cannot build namespaces).
 */
export async function runDemo(argv: readonly string[] = []): Promise<number> {
  if (helpRequested(argv)) {
    console.log(helpText(DEMO_COMMAND_LINE));
    return 0;
  }
  const read = readCommandLine(DEMO_COMMAND_LINE, argv);
  if (!read.ok) {
    console.error(`error: ${read.error}`);
    return EXIT_USAGE;
  }
  const problem = labPrerequisiteProblem();
  if (problem) {
    console.error(
      `error: the demo builds network namespaces: ${problem} (run as root on Linux with iproute2, iptables, ping)`,
    );
    return EXIT_USAGE;
  }

  const work = mkdtempSync(join(tmpdir(), 'egress-demo-'));
  const lab = await createLab({
    tag: 'demo',
    cells: [{ count: 1 }, { count: 1 }],
    external: { addresses: [OLD_DB, NEW_DB], tcpPorts: [PORT] },
  });
  let stop = async (): Promise<void> => undefined;
  const cleanup = async (): Promise<void> => {
    await stop();
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  };
  // Namespaces outlive the process: Ctrl-C removes them before exiting.
  process.on('SIGINT', () => {
    void cleanup().finally(() => process.exit(EXIT_INTERRUPTED));
  });

  try {
    const backends: LabContainer[] = lab.cells.flatMap((cell) => cell.containers.slice(0, 1));
    const cells: LocalCell[] = lab.cells.map((cell, index) => {
      const file = join(work, `cell-${index + 1}-store.json`);
      const container = cell.containers[0];
      if (!container) throw new Error('every lab cell has a container');
      writeFileSync(
        file,
        JSON.stringify({
          [`backend-${index}`]: {
            handle: `backend-${index}`,
            ip: container.ip,
            metadata: { app_id: BACKEND, space_id: 'space-a', org_id: 'org-1' },
          },
        }),
      );
      return { name: `cell-${index + 1}`, netns: cell.ns, containers: file };
    });
    let runAgent: AgentRunner = async () => ({ ok: false, output: 'DynamoDB is not up yet' });
    const local = await startLocalMode({
      stateDir: work,
      port: 0,
      inMemory: true,
      onDynamoDbReady: (_endpoint, dynamodb) => {
        runAgent = inProcessAgentRunner({ dynamodb, tableName: DEFAULT_TABLE_NAME, stateRoot: join(work, 'cells') });
      },
      propagation: { cells, runAgent: (cell, version, verify) => runAgent(cell, version, verify), log: silentLog },
    });
    stop = () => local.stop();
    const token = await local.issuer.sign();
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${local.url}${API_PREFIX}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const parsed: unknown = await response.json();
      say(`  ${method} ${API_PREFIX}${path} → ${response.status}`);
      return { status: response.status, body: parsed };
    };
    const probeAll = (host: string): Promise<ProbeResult[]> =>
      Promise.all(backends.map((container) => lab.tcp(container, host, PORT, 500)));
    const show = async (host: string): Promise<ProbeResult[]> => {
      const results = await probeAll(host);
      for (const [index, result] of results.entries()) {
        say(`  backend on cell-${index + 1} → ${host}:${PORT}  ${result.toUpperCase()}`);
      }
      return results;
    };
    const until = async (host: string, expected: ProbeResult): Promise<number> => {
      const start = Date.now();
      while (!(await probeAll(host)).every((result) => result === expected) && Date.now() - start < 30_000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return Date.now() - start;
    };

    say(`dynamic-egress demo: local mode at ${local.url}, two cells, MySQL at ${OLD_DB}:${PORT}`);
    await local.propagation?.dispatcher.idle();

    step('Scenario 1: the backend app has no policy yet');
    await show(OLD_DB);

    step('The operator creates a destination for MySQL and a policy from the backend app (no restart)');
    const created = await call('POST', '/destinations', {
      destinations: [
        {
          name: 'MySQL',
          description: 'Demo',
          ips: [{ start: OLD_DB, end: OLD_DB }],
          ports: [{ start: PORT, end: PORT }],
          protocol: 'tcp',
        },
      ],
    });
    const db = parseWith(createdSchema, created.body, 'POST /destinations').destinations[0];
    if (!db) throw new Error('POST /destinations answered without the destination');
    await call('POST', '/egress_policies', {
      egress_policies: [{ source: { type: 'app', id: BACKEND }, destination: { id: db.id } }],
    });
    const opened = await until(OLD_DB, 'open');
    say(`  enforced on every cell ${opened} ms after the API answered`);
    await show(OLD_DB);

    step(`Scenario 2: MySQL moves to ${NEW_DB}; the operator updates the destination`);
    await call('PUT', '/destinations', { destinations: [{ ...db, ips: [{ start: NEW_DB, end: NEW_DB }] }] });
    const moved = await until(NEW_DB, 'open');
    say(`  enforced on every cell ${moved} ms after the API answered`);
    await show(OLD_DB);
    await show(NEW_DB);

    step('Every cell reports the policy version it enforces');
    await local.propagation?.dispatcher.idle();
    const cellList = parseWith(cellListSchema, (await call('GET', '/cells')).body, 'GET /cells');
    for (const cell of cellList.cells) {
      say(`  ${cell.name}: version ${cell.applied_version} of ${cellList.current_version}, lag ${cell.lag_versions}`);
    }
    say('\ndone: removing the namespaces');
  } finally {
    await cleanup();
  }
  return 0;
}
