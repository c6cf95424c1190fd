// `npm run demo` (root, Linux): builds a small network of namespaces — two cells, each routing for an
// app container, and an external "database" host — starts local mode with those cells, and walks
// the two scenarios of CF's dynamic egress announcement through the HTTP API while real TCP
// connections show what is enforced. `npm run demo -- asg` walks cloud.gov's security group story
// instead (local/demo-asg.ts). Everything is removed at the end, and on Ctrl-C (local/demo-stage.ts).
import * as z from 'zod/mini';
import { parseWith } from '../core/domain/validation.js';
import { API_PREFIX } from '../lambdas/api/routes.js';
import { EXAMPLE_APP_ID } from './cells/dry-run-cell.js';
import { type CommandLineSpec, EXIT_USAGE, helpRequested, helpText, readCommandLine } from './command-line.js';
import { runAsgWalk } from './demo-asg.js';
import { runHostsWalk } from './demo-hosts.js';
import { onStage, say, step } from './demo-stage.js';
import { type LabContainer, labPrerequisiteProblem, type ProbeResult } from './lab/netns-lab.js';

const OLD_DB = '198.51.100.10';
const NEW_DB = '203.0.113.20';
const PORT = 3306;
const BACKEND = EXAMPLE_APP_ID;
/** The one positional argument: which walk to run. */
const ASG = 'asg';
const HOSTS = 'hosts';

// The two answers the walk reads on; a destination is sent back whole (PUT), so it keeps every field.
const createdSchema = z.object({ destinations: z.array(z.looseObject({ id: z.string() })) });
const cellListSchema = z.object({
  current_version: z.number(),
  cells: z.array(z.object({ name: z.string(), applied_version: z.number(), lag_versions: z.number() })),
});

export const DEMO_COMMAND_LINE: CommandLineSpec = {
  usage: `sudo npm run demo [-- ${ASG}|${HOSTS}]`,
  summary:
    'Builds two cells and a "database" host out of network namespaces, starts local mode in memory with\n' +
    "those cells, walks scenario 1 and 2 of CF's dynamic egress announcement through the HTTP API and\n" +
    'prints what real TCP connections see. Everything is removed at the end, and on Ctrl-C.\n' +
    'Needs root on Linux with iproute2, iptables and ping; leaves .local/ alone.\n' +
    '\n' +
    `With \`${ASG}\`: walks cloud.gov's security group story with the V3 API instead, on one cell with a\n` +
    'running app and a staging container: a new space is closed, public_networks_egress opens the\n' +
    'internet (198.51.100.0/24) to the running app, trusted_local_networks_egress the brokered\n' +
    'services (203.0.113.0/24), staging runs under public egress while the running app may not, and a\n' +
    'deny network of the cells stays closed whatever is bound. Exits 1 if a connection is not as told.\n' +
    '\n' +
    `With \`${HOSTS}\`: walks FSM's egress example by host name on one cell, names served by a dnsmasq in\n` +
    'the lab: http by Host and https by SNI through the cell proxy, a route narrowing /get against\n' +
    '/status/200 and then widened, a tcp destination by name, and names whose address changes being\n' +
    'followed without an API call. Needs haproxy and dnsmasq too. Exits 1 if an answer is not as told.',
  options: {},
  notes: ['examples:', '  sudo npm run demo', `  sudo npm run demo -- ${ASG}`, `  sudo npm run demo -- ${HOSTS}`],
};

/**
 * Runs the demo; resolves with the exit code (0 also for `--help`, which builds nothing; 2 for an
 * unknown argument or a machine that cannot build namespaces; 1 when the asg walk saw a connection
 * other than the story says).
 */
export async function runDemo(argv: readonly string[] = []): Promise<number> {
  if (helpRequested(argv)) {
    console.log(helpText(DEMO_COMMAND_LINE));
    return 0;
  }
  const walk = argv[0] === ASG || argv[0] === HOSTS ? argv[0] : undefined;
  const read = readCommandLine(DEMO_COMMAND_LINE, walk === undefined ? argv : argv.slice(1));
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
  return walk === ASG ? runAsgWalk() : walk === HOSTS ? runHostsWalk() : runScenarios();
}

async function runScenarios(): Promise<number> {
  const labOptions = {
    tag: 'demo',
    cells: [{ count: 1 }, { count: 1 }],
    external: { addresses: [OLD_DB, NEW_DB], tcpPorts: [PORT] },
  };
  await onStage(labOptions, async ({ lab, startLocal }) => {
    const backends: LabContainer[] = lab.cells.flatMap((cell) => cell.containers.slice(0, 1));
    const { local, call } = await startLocal(
      backends.map((container, index) => [
        {
          handle: `backend-${index}`,
          ip: container.ip,
          metadata: { app_id: BACKEND, space_id: 'space-a', org_id: 'org-1' },
        },
      ]),
    );
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
    const created = await call('POST', `${API_PREFIX}/destinations`, {
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
    await call('POST', `${API_PREFIX}/egress_policies`, {
      egress_policies: [{ source: { type: 'app', id: BACKEND }, destination: { id: db.id } }],
    });
    const opened = await until(OLD_DB, 'open');
    say(`  enforced on every cell ${opened} ms after the API answered`);
    await show(OLD_DB);

    step(`Scenario 2: MySQL moves to ${NEW_DB}; the operator updates the destination`);
    await call('PUT', `${API_PREFIX}/destinations`, {
      destinations: [{ ...db, ips: [{ start: NEW_DB, end: NEW_DB }] }],
    });
    const moved = await until(NEW_DB, 'open');
    say(`  enforced on every cell ${moved} ms after the API answered`);
    await show(OLD_DB);
    await show(NEW_DB);

    step('Every cell reports the policy version it enforces');
    await local.propagation?.dispatcher.idle();
    const cellList = parseWith(cellListSchema, (await call('GET', `${API_PREFIX}/cells`)).body, 'GET /cells');
    for (const cell of cellList.cells) {
      say(`  ${cell.name}: version ${cell.applied_version} of ${cellList.current_version}, lag ${cell.lag_versions}`);
    }
    say('\ndone: removing the namespaces');
  });
  return 0;
}
