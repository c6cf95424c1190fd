// `npm run demo -- asg`: cloud.gov's security group story on one namespace cell, through the V3 API,
// with real TCP connections from a running app and a staging container of one space. 198.51.100.0/24
// stands for the public internet (public_networks_egress), 203.0.113.0/24 for the brokered services
// (trusted_local_networks_egress), and one public address is a deny network of the cells.
import * as z from 'zod/mini';
import { parseWith } from '../core/domain/validation.js';
import { type DemoCall, onStage, pause, say, step } from './demo-stage.js';
import type { Lab, LabContainer, ProbeResult } from './lab/netns-lab.js';

const ORG = '0a0e0000-0000-4000-8000-0000000000b2';
const SPACE = '5a0e0000-0000-4000-8000-0000000000a1';
const APP = '887757be-5eda-48ce-b427-79dcc0705e92';
const PUBLIC_RANGE = '198.51.100.0/24';
const BROKERED_RANGE = '203.0.113.0/24';
const INTERNET = '198.51.100.30';
/** Inside public_networks_egress, but a deny network of the cells: closed whatever is bound. */
const DENIED = '198.51.100.99';
const BROKERED = '203.0.113.40';
const HTTPS = 443;
const POSTGRES = 5432;
const V3 = '/v3';
/** How long a step waits for the cells to enforce what it expects before it reports what they do. */
const ENFORCE_WITHIN_MS = 30_000;

const TARGETS = [
  { name: 'internet', host: INTERNET, port: HTTPS },
  { name: 'brokered', host: BROKERED, port: POSTGRES },
  { name: 'denied', host: DENIED, port: HTTPS },
] as const;
type Target = (typeof TARGETS)[number]['name'];
const WORKLOADS = ['running app', 'staging'] as const;
type Workload = (typeof WORKLOADS)[number];
/** What each container reaches: only the open pairs, every other pair is expected refused. */
type Open = Partial<Record<Workload, readonly Target[]>>;

const groupSchema = z.object({ guid: z.string() });

/** Runs the walk; resolves with 0, or 1 when a connection was not what the story says. */
export async function runAsgWalk(): Promise<number> {
  const labOptions = {
    tag: 'demoasg',
    cells: [{ count: 2 }],
    external: { addresses: [INTERNET, DENIED, BROKERED], tcpPorts: [HTTPS, POSTGRES] },
  };
  return onStage(labOptions, async ({ lab, startLocal }) => {
    const [running, staging] = lab.cells[0]?.containers ?? [];
    if (!running || !staging) throw new Error('the lab has one cell with two containers');
    const metadata = { app_id: APP, space_id: SPACE, org_id: ORG };
    const { local, call } = await startLocal(
      [
        [
          { handle: 'web', ip: running.ip, metadata: { ...metadata, container_workload: 'app' } },
          { handle: 'web-staging', ip: staging.ip, metadata: { ...metadata, container_workload: 'staging' } },
        ],
      ],
      { denyNetworks: { always: [`${DENIED}/32`], running: [], staging: [] } },
    );
    const containers: Record<Workload, LabContainer> = { 'running app': running, staging };
    let mismatches = 0;
    /** Waits until the cell enforces `open` (or the time is up), then prints every pair. */
    const expect = async (open: Open): Promise<void> => {
      const start = Date.now();
      let seen = await probeAll(lab, containers);
      while (!matches(seen, open) && Date.now() - start < ENFORCE_WITHIN_MS) {
        await pause(50);
        seen = await probeAll(lab, containers);
      }
      say(`  enforced ${Date.now() - start} ms after the API answered`);
      for (const workload of WORKLOADS) {
        for (const target of TARGETS) {
          const result = seen[workload][target.name];
          const wanted = expected(open, workload, target.name);
          const note = result === wanted ? '' : `  (expected ${wanted.toUpperCase()})`;
          if (note) mismatches += 1;
          const to = `${target.name} ${target.host}:${target.port}`.padEnd(27);
          say(`  ${workload.padEnd(11)} → ${to} ${result.toUpperCase()}${note}`);
        }
      }
    };

    say(`dynamic-egress demo (security groups): local mode at ${local.url}, one cell, one space`);
    say(`  internet ${PUBLIC_RANGE}, brokered services ${BROKERED_RANGE}, deny network ${DENIED}/32 on the cell`);
    await local.propagation?.dispatcher.idle();

    step('1. The platform defines its two groups, bound nowhere: a new space is closed');
    const publicEgress = await createGroup(call, 'public_networks_egress', [
      { protocol: 'tcp', destination: PUBLIC_RANGE, ports: `${HTTPS}` },
    ]);
    const trusted = await createGroup(call, 'trusted_local_networks_egress', [
      { protocol: 'all', destination: BROKERED_RANGE },
    ]);
    await expect({});

    step('2. cf bind-security-group public_networks_egress ORG --space SPACE (running lifecycle)');
    await call('POST', `${V3}/security_groups/${publicEgress}/relationships/running_spaces`, {
      data: [{ guid: SPACE }],
    });
    await expect({ 'running app': ['internet'] });
    say('  the running app reaches the internet, not the brokered services');

    step('3. cf bind-security-group trusted_local_networks_egress ORG (every space of the org, running)');
    await call('POST', `${V3}/security_groups/${trusted}/relationships/running_organizations`, {
      data: [{ guid: ORG }],
    });
    await expect({ 'running app': ['internet', 'brokered'] });

    step('4. Staging runs under public egress; the space unbinds public_networks_egress for running');
    await call('PATCH', `${V3}/security_groups/${publicEgress}`, { globally_enabled: { staging: true } });
    await call('DELETE', `${V3}/security_groups/${publicEgress}/relationships/running_spaces/${SPACE}`);
    await expect({ 'running app': ['brokered'], staging: ['internet'] });
    say('  staging reaches the internet while the running app does not');

    step(`5. public_networks_egress enabled globally for running too: ${DENIED} is a deny network`);
    await call('PATCH', `${V3}/security_groups/${publicEgress}`, { globally_enabled: { running: true } });
    await expect({ 'running app': ['internet', 'brokered'], staging: ['internet'] });
    say(`  ${DENIED} is inside ${PUBLIC_RANGE} and stays closed whatever is bound`);

    say(
      mismatches === 0
        ? '\ndone: removing the namespaces'
        : `\n${mismatches} connection(s) not as expected: removing the namespaces`,
    );
    return mismatches === 0 ? 0 : 1;
  });
}

async function createGroup(call: DemoCall, name: string, rules: readonly object[]): Promise<string> {
  const created = await call('POST', `${V3}/security_groups`, { name, rules });
  return parseWith(groupSchema, created.body, `POST ${V3}/security_groups`).guid;
}

function expected(open: Open, workload: Workload, target: Target): ProbeResult {
  return open[workload]?.includes(target) ? 'open' : 'refused';
}

function matches(seen: Record<Workload, Record<Target, ProbeResult>>, open: Open): boolean {
  return WORKLOADS.every((workload) =>
    TARGETS.every((target) => seen[workload][target.name] === expected(open, workload, target.name)),
  );
}

async function probeAll(
  lab: Lab,
  containers: Record<Workload, LabContainer>,
): Promise<Record<Workload, Record<Target, ProbeResult>>> {
  const probeOne = async (container: LabContainer): Promise<Record<Target, ProbeResult>> => {
    const results = await Promise.all(TARGETS.map((target) => lab.tcp(container, target.host, target.port, 500)));
    return Object.fromEntries(TARGETS.map((target, index) => [target.name, results[index] ?? 'timeout'])) as Record<
      Target,
      ProbeResult
    >;
  };
  const [running, staging] = await Promise.all(WORKLOADS.map((workload) => probeOne(containers[workload])));
  if (!running || !staging) throw new Error('every workload is probed');
  return { 'running app': running, staging };
}
