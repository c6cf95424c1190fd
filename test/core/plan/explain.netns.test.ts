// Explain against a real kernel: random egress policies, security groups and deny networks are
// synced by the real agent onto a netns cell, then random probes from its containers (tcp, udp,
// ping) are compared with explain's verdict for the same container and connection. Explain plans
// with the same code as the agent; this checks its walk of that plan against iptables itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../../bench/lib/agent-scenario.js';
import {
  type ContainerWorkload,
  lifecycleOf,
  type SecurityGroup,
  type SecurityGroupRule,
} from '../../../core/domain/security-group.js';
import { buildSnapshot, snapshotToPolicyList } from '../../../core/domain/snapshot.js';
import type { EgressPolicy } from '../../../core/domain/types.js';
import { formatDenyNetworks } from '../../../core/plan/deny-networks.js';
import { type ExplainQuery, explain } from '../../../core/plan/explain.js';
import type { DenyNetworks } from '../../../core/plan/plan.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../../local/lab/netns-lab.js';
import { containerStore, type StoreEntry } from '../../agent/fixtures.js';
import { runAgent } from '../../agent/run-agent.js';
import { firstCell } from '../../helpers/lab-cell.js';

/** Eight external addresses, two /29 halves apart, so that ranges and CIDRs cut across them. */
const EXTERNAL = [
  '198.51.100.8',
  '198.51.100.9',
  '198.51.100.10',
  '198.51.100.11',
  '198.51.100.12',
  '203.0.113.5',
  '203.0.113.6',
  '203.0.113.7',
];
const TCP_PORTS = [8000, 8001];
const UDP_PORT = 5353;
const ROUNDS = 6;
const PROBES_PER_CONTAINER = 8;

/** A containers-file entry with every field the explain query needs. */
type LabEntry = StoreEntry & { orgId: string; workload: ContainerWorkload };

const CONTAINERS: readonly LabEntry[] = [
  { ip: '10.255.1.2', appId: 'app-a', spaceId: 's1', orgId: 'o1', workload: 'app' },
  { ip: '10.255.1.3', appId: 'app-b', spaceId: 's1', orgId: 'o1', workload: 'staging' },
  { ip: '10.255.1.4', appId: 'app-c', spaceId: 's2', orgId: 'o1', workload: 'task' },
  { ip: '10.255.1.5', appId: 'app-d', spaceId: 's3', orgId: 'o2', workload: 'app' },
];

type Probe =
  | { readonly protocol: 'tcp'; readonly ip: string; readonly port: number }
  | { readonly protocol: 'udp'; readonly ip: string; readonly port: number }
  | { readonly protocol: 'icmp'; readonly ip: string };

interface RandomState {
  readonly policies: EgressPolicy[];
  readonly groups: SecurityGroup[];
  readonly denyNetworks: DenyNetworks;
}

/** Random desired state over the lab's addresses and ports; every shape explain must cover. */
function randomState(random: () => number): RandomState {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const maybe = (p: number) => random() < p;
  const addressRange = () => {
    const start = Math.floor(random() * EXTERNAL.length);
    const end = Math.min(EXTERNAL.length - 1, start + Math.floor(random() * 3));
    // Ranges stay inside one /24 (the addresses are sorted by block).
    const first = EXTERNAL[start] as string;
    const last = EXTERNAL[end] as string;
    return first.split('.')[0] === last.split('.')[0] ? { start: first, end: last } : { start: first, end: first };
  };
  const policies: EgressPolicy[] = Array.from({ length: Math.floor(random() * 6) }, (_, index) => {
    const protocol = pick(['tcp', 'udp', 'icmp'] as const);
    const source = pick([
      { type: 'app' as const, id: pick(CONTAINERS).appId },
      { type: 'space' as const, id: pick(['s1', 's2', 's3']) },
      { type: 'default' as const, id: '' },
    ]);
    const ports =
      protocol === 'tcp'
        ? [
            pick([
              { start: 8000, end: 8000 },
              { start: 8001, end: 8001 },
              { start: 8000, end: 8001 },
            ]),
          ]
        : protocol === 'udp'
          ? [{ start: UDP_PORT, end: UDP_PORT }]
          : [];
    const lifecycle = pick([undefined, undefined, 'running', 'staging'] as const);
    return {
      id: `p${index}`,
      source,
      destination: {
        id: `d${index}`,
        name: `dest ${index}`,
        ips: [addressRange()],
        ports,
        protocol,
        ...(protocol === 'icmp' ? { icmp_type: pick([-1, 8, 0]), icmp_code: -1 } : {}),
      },
      ...(lifecycle === undefined ? {} : { app_lifecycle: lifecycle }),
    };
  });
  const destination = () => {
    const parts = Array.from({ length: 1 + Math.floor(random() * 2) }, () => {
      const { start, end } = addressRange();
      return pick([start, start === end ? `${start}/32` : `${start}-${end}`, `${start.replace(/\.\d+$/, '.8')}/30`]);
    });
    return parts.join(',');
  };
  const rule = (): SecurityGroupRule => {
    const protocol = pick(['tcp', 'udp', 'icmp', 'all'] as const);
    if (protocol === 'icmp')
      return { protocol, destination: destination(), type: pick([8, -1, 13]), code: pick([-1, -1, 0, 1]) };
    if (protocol === 'all') return { protocol, destination: destination() };
    const ports = protocol === 'udp' ? `${UDP_PORT}` : pick(['8000', '8001', '8000,8001', '8000-8001']);
    return { protocol, destination: destination(), ports };
  };
  const someOf = (values: readonly string[]) => values.filter(() => maybe(0.3));
  const groups: SecurityGroup[] = Array.from({ length: Math.floor(random() * 4) }, (_, index) => ({
    guid: `g${index}`,
    name: `group ${index}`,
    createdAt: '2026-12-04T00:00:00Z',
    updatedAt: '2026-12-04T00:00:00Z',
    globallyEnabled: { running: maybe(0.2), staging: maybe(0.2) },
    rules: Array.from({ length: 1 + Math.floor(random() * 3) }, rule),
    bindings: {
      running: { space: someOf(['s1', 's2', 's3']), organization: someOf(['o1', 'o2']) },
      staging: { space: someOf(['s1', 's2', 's3']), organization: someOf(['o1', 'o2']) },
    },
  }));
  const denied = (p: number) => (maybe(p) ? [`${pick(EXTERNAL)}/32`] : []);
  return { policies, groups, denyNetworks: { always: denied(0.3), running: denied(0.2), staging: denied(0.2) } };
}

function randomProbe(random: () => number): Probe {
  const ip = EXTERNAL[Math.floor(random() * EXTERNAL.length)] as string;
  const kind = random();
  if (kind < 0.5) return { protocol: 'tcp', ip, port: TCP_PORTS[Math.floor(random() * TCP_PORTS.length)] as number };
  if (kind < 0.75) return { protocol: 'udp', ip, port: UDP_PORT };
  return { protocol: 'icmp', ip };
}

describe.runIf(labAvailable())("explain's verdict against real connections", () => {
  let lab: Lab;
  let cell: string;
  let containers: readonly LabContainer[];

  beforeAll(async () => {
    lab = await createLab({
      tag: 'explain',
      cells: [{ ips: CONTAINERS.map((container) => container.ip) }],
      external: { addresses: EXTERNAL, tcpPorts: TCP_PORTS, udpPorts: [UDP_PORT] },
    });
    const only = firstCell(lab);
    cell = only.ns;
    containers = only.containers;
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it(`agrees on ${ROUNDS} random states × ${CONTAINERS.length * PROBES_PER_CONTAINER} probes`, async () => {
    const random = prng(20261204);
    let allowedSeen = 0;
    let deniedSeen = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const state = randomState(random);
      const list = snapshotToPolicyList(buildSnapshot(round + 1, state.policies, state.groups));
      const synced = await runAgent(cell, list, containerStore(CONTAINERS), [
        '--deny-networks',
        formatDenyNetworks(state.denyNetworks),
      ]);
      expect(synced.stderr).toBe('');
      expect(synced.code).toBe(0);
      for (const [index, container] of CONTAINERS.entries()) {
        const from = containers[index];
        if (from === undefined) throw new Error(`lab container ${index} missing`);
        for (let probe = 0; probe < PROBES_PER_CONTAINER; probe += 1) {
          const connection = randomProbe(random);
          const query: ExplainQuery = {
            app: container.appId,
            space: container.spaceId,
            org: container.orgId,
            workload: container.workload,
            ip: connection.ip,
            protocol: connection.protocol,
            ...(connection.protocol === 'icmp' ? { icmp: { type: 8, code: 0 } } : { port: connection.port }),
          };
          const answer = explain(
            query,
            { version: round + 1, policies: state.policies, groups: state.groups },
            { denyNetworks: state.denyNetworks },
          );
          const kernel =
            connection.protocol === 'icmp'
              ? await lab.ping(from, connection.ip)
              : (await (connection.protocol === 'tcp'
                  ? lab.tcp(from, connection.ip, connection.port)
                  : lab.udp(from, connection.ip, connection.port))) === 'open';
          const lifecycle = lifecycleOf(container.workload);
          expect(
            answer.allowed,
            `round ${round}, ${container.appId} (${lifecycle}) → ${JSON.stringify(connection)}: explain says ${JSON.stringify(answer.reasons)}; state ${JSON.stringify(state)}`,
          ).toBe(kernel);
          if (kernel) allowedSeen += 1;
          else deniedSeen += 1;
        }
      }
    }
    // The random states must exercise both answers, or the comparison proves little.
    expect(allowedSeen).toBeGreaterThan(10);
    expect(deniedSeen).toBeGreaterThan(10);
  });
});
