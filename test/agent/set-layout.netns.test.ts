// The sets' layout against a real kernel: random policies over 32 addresses, synced with every service
// in a set (threshold 1), so that ranges become blocks with nomatch holes and a source's single-port
// services share one hash:net,port set. Random probes from the containers (tcp, udp, ping) are compared
// with what the policies allow (read here, without the planner) and with the plan's own walk
// (core/plan/evaluate.ts), which reads the sets as the planner meant them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsRunner } from '../../agent/runner.js';
import { parseContainers, parsePolicies } from '../../agent/source/files.js';
import { sync } from '../../agent/sync.js';
import { prng } from '../../bench/lib/agent-scenario.js';
import { evaluatePlan, type Packet } from '../../core/plan/evaluate.js';
import { planRules } from '../../core/plan/plan.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../local/lab/netns-lab.js';
import { firstCell } from '../helpers/lab-cell.js';
import {
  app,
  containerStore,
  icmp,
  type PolicyDoc,
  policyList,
  type Source,
  type StoreEntry,
  space,
  tcp,
  udp,
} from './fixtures.js';

/** 198.51.100.0-31: ranges across them cut /29s and /28s, and holes fall inside. */
const EXTERNAL = Array.from({ length: 32 }, (_, k) => `198.51.100.${k}`);
const TCP_PORTS = [8000, 8001, 8002];
const UDP_PORTS = [5353, 5354];
const ROUNDS = 12;
const PROBES_PER_CONTAINER = 32;

const ENTRIES: readonly StoreEntry[] = [
  { ip: '10.255.1.2', appId: 'app-a', spaceId: 's1' },
  { ip: '10.255.1.3', appId: 'app-b', spaceId: 's1' },
  { ip: '10.255.1.4', appId: 'app-c', spaceId: 's2' },
];
const SOURCES = [app('app-a'), app('app-b'), app('app-c'), space('s1'), space('s2')];

/** What one policy allows, for the test's own reading of the policies (no planner involved). */
interface Intent {
  readonly source: Source;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** tcp/udp ports; icmp: echo request, any code. */
  readonly ports?: readonly [number, number];
  readonly first: number;
  readonly last: number;
}

const SERVICES: readonly Pick<Intent, 'protocol' | 'ports'>[] = [
  { protocol: 'tcp', ports: [8000, 8000] },
  { protocol: 'tcp', ports: [8001, 8001] },
  { protocol: 'udp', ports: [5353, 5353] },
  { protocol: 'tcp', ports: [8001, 8002] },
  { protocol: 'icmp' },
];

/** Each source, each service with some chance: one to four ranges of up to 13 addresses. */
function randomIntents(random: () => number): Intent[] {
  const intents: Intent[] = [];
  for (const source of SOURCES) {
    for (const service of SERVICES) {
      if (random() < 0.4) continue;
      for (let k = 1 + Math.floor(random() * 4); k > 0; k -= 1) {
        const first = Math.floor(random() * EXTERNAL.length);
        intents.push({
          source,
          ...service,
          first,
          last: Math.min(EXTERNAL.length - 1, first + Math.floor(random() * 13)),
        });
      }
    }
  }
  return intents;
}

function policyOf(intent: Intent, id: string): PolicyDoc {
  const ips: [string, string] = [`198.51.100.${intent.first}`, `198.51.100.${intent.last}`];
  const [low, high] = intent.ports ?? [0, 0];
  if (intent.protocol === 'icmp') return icmp(id, intent.source, ips, 8);
  return (intent.protocol === 'tcp' ? tcp : udp)(id, intent.source, ips, [low, high]);
}

/** Whether some policy of the container's app or space allows the packet. */
function allowedByIntents(intents: readonly Intent[], entry: StoreEntry, packet: Packet): boolean {
  const last = Number(packet.destination.split('.')[3]);
  return intents.some(
    (intent) =>
      ((intent.source.type === 'app' && intent.source.id === entry.appId) ||
        (intent.source.type === 'space' && intent.source.id === entry.spaceId)) &&
      intent.protocol === packet.protocol &&
      (intent.ports === undefined ||
        (packet.port !== undefined && packet.port >= intent.ports[0] && packet.port <= intent.ports[1])) &&
      last >= intent.first &&
      last <= intent.last,
  );
}

function randomPacket(random: () => number, source: string): Packet {
  const destination = EXTERNAL[Math.floor(random() * EXTERNAL.length)] ?? '198.51.100.0';
  const kind = random();
  if (kind < 0.55) {
    return { source, destination, protocol: 'tcp', port: TCP_PORTS[Math.floor(random() * TCP_PORTS.length)] ?? 8000 };
  }
  if (kind < 0.93) {
    return { source, destination, protocol: 'udp', port: UDP_PORTS[Math.floor(random() * UDP_PORTS.length)] ?? 5353 };
  }
  return { source, destination, protocol: 'icmp', icmp: { type: 8, code: 0 } };
}

describe.runIf(labAvailable())('set layout against real connections', () => {
  let lab: Lab;
  let cell: string;
  let containers: readonly LabContainer[];

  beforeAll(async () => {
    lab = await createLab({
      tag: 'setlayout',
      cells: [{ ips: ENTRIES.map((entry) => entry.ip) }],
      external: { addresses: EXTERNAL, tcpPorts: TCP_PORTS, udpPorts: UDP_PORTS },
    });
    const only = firstCell(lab);
    cell = only.ns;
    containers = only.containers;
    // The cell sends each refusal's ICMP error at once: rate-limited, a refused udp probe would wait for
    // its timeout (the verdict is the same, the test slower).
    await lab.execOk(cell, ['sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0']);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it(`agrees with the plan's walk on ${ROUNDS} random states × ${ENTRIES.length * PROBES_PER_CONTAINER} probes`, async () => {
    const random = prng(20261205);
    const store = parseContainers(JSON.stringify(containerStore(ENTRIES)));
    let portSets = 0;
    let holes = 0;
    let allowedSeen = 0;
    let deniedSeen = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const intents = randomIntents(random);
      const docs = intents.map((intent, index) => policyOf(intent, `r${round}-${index}`));
      const policies = parsePolicies(JSON.stringify(policyList(docs)));
      const plan = planRules(policies, store, { setThreshold: 1 });
      portSets += plan.sets.filter((set) => set.type === 'hash:net,port').length;
      holes += plan.sets.reduce((sum, set) => sum + (set.nomatch?.length ?? 0), 0);
      await sync(policies, store, { runner: netnsRunner(cell), setThreshold: 1 });
      for (const [index, entry] of ENTRIES.entries()) {
        const from = containers[index];
        if (from === undefined) throw new Error(`lab container ${index} missing`);
        for (let probe = 0; probe < PROBES_PER_CONTAINER; probe += 1) {
          const packet = randomPacket(random, entry.ip);
          const planned = evaluatePlan(plan, packet).verdict === 'accept';
          const intended = allowedByIntents(intents, entry, packet);
          const kernel =
            packet.protocol === 'icmp'
              ? await lab.ping(from, packet.destination)
              : (await (packet.protocol === 'tcp'
                  ? lab.tcp(from, packet.destination, packet.port ?? 0)
                  : lab.udp(from, packet.destination, packet.port ?? 0))) === 'open';
          const where = `round ${round}, ${entry.appId} → ${JSON.stringify(packet)}; policies ${JSON.stringify(intents)}`;
          expect(kernel, `kernel against the policies: ${where}`).toBe(intended);
          expect(planned, `the plan's walk against the policies: ${where}`).toBe(intended);
          if (kernel) allowedSeen += 1;
          else deniedSeen += 1;
        }
      }
    }
    // The random states must build what this test is about, and probe both answers.
    expect(portSets).toBeGreaterThan(ROUNDS);
    expect(holes).toBeGreaterThan(ROUNDS);
    expect(allowedSeen).toBeGreaterThan(30);
    expect(deniedSeen).toBeGreaterThan(30);
  });
});
