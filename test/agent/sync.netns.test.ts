// The agent against a real kernel: a cell namespace routing for container namespaces, an external host
// with TCP/UDP services, real connections and pings. One lab for the file; tests run in order and
// build on each other's state, as syncs on a cell do.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { containerChain, tempSetName } from '../../core/plan/names.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../helpers/lab-cell.js';
import { app, containerStore, icmp, type PolicyDoc, policyList, type StoreEntry, space, tcp, udp } from './fixtures.js';
import { addOperatorRules, operatorState as kernelOperatorState, ownedFilterState } from './kernel-state.js';
import { runAgent } from './run-agent.js';

const EXT = {
  edgeBelow: '198.51.100.8',
  edgeAbove: '198.51.100.13',
  below: '198.51.100.9',
  low: '198.51.100.10',
  high: '198.51.100.11',
  above: '198.51.100.12',
  other: '203.0.113.5',
  moved: '203.0.113.6',
};
/** No lab service listens here: the echo server of the open-connection test does. */
const HOLD_PORT = 9100;

const ECHO_SERVER = `require('node:net').createServer((s) => { s.on('error', () => {}); s.pipe(s); })
  .listen(Number(process.argv[1]), () => console.log('ready'));`;
// Connects, says so, sends every stdin line and prints what comes back; prints `cut` when the connection ends.
const HOLDING_CLIENT = `const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
s.setEncoding('utf8'); s.on('connect', () => console.log('connected')); s.on('data', (d) => process.stdout.write(d));
s.on('error', (e) => console.log('cut ' + e.code)); s.on('close', () => console.log('cut'));
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => s.write(l + '\\n'));`;

/** A node script in a namespace (this process only: stopped by its own handle), its stdout line by line. */
function startIn(ns: string, script: string, args: readonly string[]) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args]);
  const lines: string[] = [];
  let wake = (): void => undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    wake();
  });
  /** The next unread line, or undefined when none comes within `ms`. */
  const nextLine = async (ms: number): Promise<string | undefined> => {
    const deadline = Date.now() + ms;
    while (lines.length === 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return lines.shift();
  };
  return {
    nextLine,
    write: (text: string) => child.stdin.write(text),
    stop: () => {
      child.kill('SIGKILL');
    },
  };
}

/** A TCP connection held open from a container; `echo` sends a line on it: `echoed`, `cut` or `timeout`. */
async function holdConnection(from: LabContainer, host: string, port: number) {
  const client = startIn(from.ns, HOLDING_CLIENT, [host, String(port)]);
  const first = await client.nextLine(5000);
  if (first !== 'connected') {
    client.stop();
    throw new Error(`no connection from ${from.ip} to ${host}:${port}: ${first}`);
  }
  return {
    async echo(text: string): Promise<'echoed' | 'cut' | 'timeout'> {
      client.write(`${text}\n`);
      const line = await client.nextLine(1500);
      return line === text ? 'echoed' : line === undefined ? 'timeout' : 'cut';
    },
    close: client.stop,
  };
}

describe.runIf(labAvailable())('agent sync on a real cell', () => {
  let lab: Lab;
  let cell: string;
  let c0: LabContainer; // app-a, space-1
  let c1: LabContainer; // app-b, space-1
  let c2: LabContainer; // app-c, space-2
  // Never in the store: in the /24 of the store's containers but no /28 of theirs, in a /28 with
  // two of them, in the overlay but no /24 of theirs, and outside the overlay.
  let outsider: LabContainer;
  let neighbour: LabContainer;
  let far: LabContainer;
  let foreign: LabContainer;
  let unlisted: LabContainer[];
  let entries: StoreEntry[];
  let operatorBaseline: string;

  const sync = (policies: readonly PolicyDoc[], store: readonly StoreEntry[] = entries) =>
    runAgent(cell, policyList(policies), containerStore(store));
  const syncOk = async (policies: readonly PolicyDoc[], store: readonly StoreEntry[] = entries) => {
    const result = await sync(policies, store);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  };
  const operatorState = () => kernelOperatorState(lab, cell);
  const ownedState = () => ownedFilterState(lab, cell);

  beforeAll(async () => {
    lab = await createLab({
      tag: 'agentsync',
      cells: [
        { ips: ['10.255.1.2', '10.255.1.3', '10.255.1.20', '10.255.1.40', '10.255.1.4', '10.255.2.5', '10.254.0.5'] },
      ],
      external: {
        addresses: Object.values(EXT),
        tcpPorts: [7999, 8000, 8001, 8002, 9000],
        udpPorts: [5353, 5354],
      },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [c0, c1, c2, outsider, neighbour, far, foreign] = containersOf(cellInfo, 7);
    unlisted = [outsider, neighbour, far];
    entries = [
      { ip: c0.ip, appId: 'app-a', spaceId: 'space-1' },
      { ip: c1.ip, appId: 'app-b', spaceId: 'space-1' },
      { ip: c2.ip, appId: 'app-c', spaceId: 'space-2' },
    ];
    await addOperatorRules(lab, cell);
    operatorBaseline = await operatorState();
  });

  // Whatever a test did, the operator's own rules (every table) are exactly as before.
  afterEach(async () => {
    if (lab !== undefined) expect(await operatorState()).toBe(operatorBaseline);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('before any sync, every container reaches the external host', async () => {
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    expect(await lab.udp(c2, EXT.other, 5353)).toBe('open');
    expect(await lab.ping(c1, EXT.low)).toBe(true);
    for (const container of [...unlisted, foreign]) expect(await lab.tcp(container, EXT.low, 8000)).toBe('open');
  });

  it('fails closed: containers in the store and every other overlay source are rejected fast', async () => {
    await syncOk([]);
    for (const container of [c0, c1, c2, ...unlisted]) {
      expect(await lab.tcp(container, EXT.low, 8000), container.ip).toBe('refused');
      expect(await lab.udp(container, EXT.low, 5353), container.ip).toBe('refused');
      expect(await lab.ping(container, EXT.low), container.ip).toBe(false);
    }
    // A source outside the overlay is not a container of this cell: untouched.
    expect(await lab.tcp(foreign, EXT.low, 8000)).toBe('open');
    expect(await lab.udp(foreign, EXT.low, 5353)).toBe('open');
    expect(await lab.ping(foreign, EXT.low)).toBe(true);
    // Container to container is not egress, listed or not.
    expect(await lab.ping(c0, c1.ip)).toBe(true);
    expect(await lab.ping(far, c0.ip)).toBe(true);
    // Replies to inbound connections pass (the catch-all returns established traffic to FORWARD).
    for (const container of [c0, ...unlisted]) {
      expect((await lab.exec(lab.external.ns, ['ping', '-n', '-q', '-c1', '-W1', container.ip])).code).toBe(0);
    }
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('refuses an unlisted container wherever it sits: its own /28 with listed neighbours, its /24, no block', async () => {
    const policies = [
      tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.low], [8000, 8000]),
      tcp('p-app-b-tcp', app('app-b'), [EXT.low, EXT.low], [8000, 8000]),
      udp('p-space-1-udp', space('space-1'), [EXT.low, EXT.low], [5353, 5353]),
      icmp('p-space-1-any', space('space-1'), [EXT.low, EXT.low]),
    ];
    await syncOk(policies);
    // The neighbour's /28 has a dispatch chain (for c0 and c1) with no rule for it: it falls through.
    const state = await ownedState();
    expect(state).toContain('-s 10.255.1.0/28 ');
    expect(state).toContain(`-s ${c0.ip}/32 `);
    expect(state).not.toContain(`-s ${neighbour.ip}/32 `);
    for (const container of [c0, c1]) {
      expect(await lab.tcp(container, EXT.low, 8000), container.ip).toBe('open');
      expect(await lab.udp(container, EXT.low, 5353), container.ip).toBe('open');
      expect(await lab.ping(container, EXT.low), container.ip).toBe(true);
    }
    for (const container of unlisted) {
      expect(await lab.tcp(container, EXT.low, 8000), container.ip).toBe('refused');
      expect(await lab.udp(container, EXT.low, 5353), container.ip).toBe('refused');
      expect(await lab.ping(container, EXT.low), container.ip).toBe(false);
    }
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('--unknown-sources allow leaves unlisted containers alone and still enforces listed ones', async () => {
    const policies = [tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.low], [8000, 8000])];
    const allow = await runAgent(cell, policyList(policies), containerStore(entries), ['--unknown-sources', 'allow']);
    expect([allow.code, allow.stderr]).toEqual([0, '']);
    expect(await ownedState()).not.toContain('-s 10.255.0.0/16');
    for (const container of unlisted) {
      expect(await lab.tcp(container, EXT.low, 8000), container.ip).toBe('open');
      expect(await lab.udp(container, EXT.low, 5353), container.ip).toBe('open');
      expect(await lab.ping(container, EXT.low), container.ip).toBe(true);
    }
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    expect(await lab.tcp(c0, EXT.low, 7999)).toBe('refused');
    expect(await lab.tcp(c1, EXT.low, 8000)).toBe('refused');
    // Back to the default: refused again.
    await syncOk(policies);
    for (const container of unlisted) expect(await lab.tcp(container, EXT.low, 8000), container.ip).toBe('refused');
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('keeps a connection open across the sync that drops its container from the file; new ones are refused', async () => {
    const server = startIn(lab.external.ns, ECHO_SERVER, [String(HOLD_PORT)]);
    try {
      expect(await server.nextLine(5000)).toBe('ready');
      const policies = [tcp('p-app-a-hold', app('app-a'), [EXT.low, EXT.low], [HOLD_PORT, HOLD_PORT])];
      await syncOk(policies);
      const held = await holdConnection(c0, EXT.low, HOLD_PORT);
      try {
        expect(await held.echo('listed')).toBe('echoed');
        await syncOk(
          policies,
          entries.filter((entry) => entry.ip !== c0.ip),
        );
        expect(await ownedState()).not.toContain(containerChain(c0.ip));
        expect(await held.echo('unlisted')).toBe('echoed');
        expect(await lab.tcp(c0, EXT.low, HOLD_PORT)).toBe('refused');
        expect(await lab.tcp(c0, EXT.low, 8000)).toBe('refused');
        expect(await held.echo('still open')).toBe('echoed');
      } finally {
        held.close();
      }
    } finally {
      server.stop();
    }
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('allows app and space sources, tcp/udp ranges at their bounds, icmp by type and code', async () => {
    await syncOk([
      tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.high], [8000, 8001]),
      udp('p-space-1-udp', space('space-1'), [EXT.other, EXT.other], [5353, 5353]),
      icmp('p-app-a-echo', app('app-a'), [EXT.other, EXT.other], 8, 0),
      icmp('p-app-b-any', app('app-b'), [EXT.low, EXT.high]),
      icmp('p-app-c-reply-only', app('app-c'), [EXT.low, EXT.low], 0),
      icmp('p-space-2-echo-code1', space('space-2'), [EXT.other, EXT.other], 8, 1),
    ]);
    // tcp: both IP bounds and both port bounds are inside, one step outside each is not.
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    expect(await lab.tcp(c0, EXT.high, 8001)).toBe('open');
    expect(await lab.tcp(c0, EXT.low, 8001)).toBe('open');
    expect(await lab.tcp(c0, EXT.below, 8000)).toBe('refused');
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('refused');
    expect(await lab.tcp(c0, EXT.low, 7999)).toBe('refused');
    expect(await lab.tcp(c0, EXT.high, 8002)).toBe('refused');
    // The app policy is not the protocol's: udp to the same place is rejected.
    expect(await lab.udp(c0, EXT.low, 5353)).toBe('refused');
    // Another app in the same space does not get app-a's policy.
    expect(await lab.tcp(c1, EXT.low, 8000)).toBe('refused');
    // space-1's udp policy holds for both its containers, exactly on its port.
    expect(await lab.udp(c0, EXT.other, 5353)).toBe('open');
    expect(await lab.udp(c1, EXT.other, 5353)).toBe('open');
    expect(await lab.udp(c1, EXT.other, 5354)).toBe('refused');
    expect(await lab.udp(c2, EXT.other, 5353)).toBe('refused');
    // icmp: echo request type 8 code 0 allowed for app-a to one host only.
    expect(await lab.ping(c0, EXT.other)).toBe(true);
    expect(await lab.ping(c0, EXT.low)).toBe(false);
    // any type and code (-1) for app-b.
    expect(await lab.ping(c1, EXT.high)).toBe(true);
    expect(await lab.ping(c1, EXT.above)).toBe(false);
    // app-c may send echo replies only, space-2 echo requests with code 1 only: ping (8/0) fails.
    expect(await lab.ping(c2, EXT.low)).toBe(false);
    expect(await lab.ping(c2, EXT.other)).toBe(false);
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('enforces a range that is no CIDR block exactly at its bounds, as an iprange rule and as set members', async () => {
    // .9-.12 is not one block: it becomes `-m iprange`, or .9/32 + .10/31 + .12/32 in a set.
    const unaligned = tcp('p-unaligned', app('app-c'), [EXT.below, EXT.above], [8000, 8000]);
    const expectExactBounds = async () => {
      for (const inside of [EXT.below, EXT.low, EXT.high, EXT.above])
        expect(await lab.tcp(c2, inside, 8000)).toBe('open');
      expect(await lab.tcp(c2, EXT.edgeBelow, 8000)).toBe('refused');
      expect(await lab.tcp(c2, EXT.edgeAbove, 8000)).toBe('refused');
    };
    await syncOk([unaligned]);
    expect(await ownedState()).toContain(`--dst-range ${EXT.below}-${EXT.above}`);
    await expectExactBounds();
    // Seven more destinations of the same service reach the set threshold (8).
    const fillers = Array.from({ length: 7 }, (_, k) =>
      tcp(`p-unaligned-${k}`, app('app-c'), [`192.0.2.${10 + k}`, `192.0.2.${10 + k}`], [8000, 8000]),
    );
    await syncOk([unaligned, ...fillers]);
    expect(await ownedState()).toContain('--match-set dyneg-');
    const members = await lab.execOk(cell, ['ipset', 'save']);
    expect(members).toContain(`${EXT.low}/31`);
    await expectExactBounds();
    await syncOk([]);
  });

  it('carves holes out of a set as nomatch entries: the kernel refuses them, a resync finds nothing, a lost hole is repaired', async () => {
    // .9-.12 and .14-.254: a /24 less four holes (.0/29, .8, .13 and .255), where exact blocks need
    // eleven; six more destinations reach the set threshold (8).
    const ranges = [
      tcp('p-holes-1', app('app-c'), [EXT.below, EXT.above], [8000, 8000]),
      tcp('p-holes-2', app('app-c'), ['198.51.100.14', '198.51.100.254'], [8000, 8000]),
      ...Array.from({ length: 6 }, (_, k) =>
        tcp(`p-holes-f${k}`, app('app-c'), [`192.0.2.${10 + k}`, `192.0.2.${10 + k}`], [8000, 8000]),
      ),
    ];
    const expectHoles = async () => {
      for (const inside of [EXT.below, EXT.low, EXT.high, EXT.above])
        expect(await lab.tcp(c2, inside, 8000)).toBe('open');
      expect(await lab.tcp(c2, EXT.edgeBelow, 8000)).toBe('refused');
      expect(await lab.tcp(c2, EXT.edgeAbove, 8000)).toBe('refused');
    };
    await syncOk(ranges);
    const saved = await lab.execOk(cell, ['ipset', 'save']);
    const [name = ''] = saved.match(/dyneg-n-\w+/) ?? [];
    for (const entry of ['198.51.100.0/24', '198.51.100.0/29 nomatch', '198.51.100.8 nomatch', '198.51.100.13 nomatch'])
      expect(saved).toContain(`add ${name} ${entry}\n`);
    await expectHoles();
    // Read back whole (--verify full reads every entry, flags included), nothing differs.
    const dry = await runAgent(cell, policyList(ranges), containerStore(entries), ['--dry-run', '--verify', 'full']);
    expect(dry.stdout).toBe('# no changes\n');
    // A hole taken out of the set widens it: the kernel then lets edgeAbove through. The next sync
    // sees the set one entry short and swaps a whole copy in.
    await lab.execOk(cell, ['ipset', 'del', name, EXT.edgeAbove]);
    expect(await lab.tcp(c2, EXT.edgeAbove, 8000)).toBe('open');
    await syncOk(ranges);
    await expectHoles();
    // A hole turned into a plain entry (same count) is found by a full read.
    await lab.execOk(cell, ['ipset', 'del', name, EXT.edgeAbove]);
    await lab.execOk(cell, ['ipset', 'add', name, EXT.edgeAbove]);
    expect(await lab.tcp(c2, EXT.edgeAbove, 8000)).toBe('open');
    const full = await runAgent(cell, policyList(ranges), containerStore(entries), ['--verify', 'full']);
    expect(full.code).toBe(0);
    await expectHoles();
    await syncOk([]);
  });

  it("holds a source's single-port services in one hash:net,port set: each port and protocol apart, read back whole, repaired", async () => {
    // app-c: tcp 8000 to .9-.12 and .14-.254 (a /24 less holes) and udp 5353 to EXT.other, each with
    // seven fillers to reach the set threshold; tcp 9000 to EXT.moved alone (one rule of its own).
    const fillers = (name: string, make: (ip: string) => PolicyDoc) =>
      Array.from({ length: 7 }, (_, k) => make(`192.0.2.${2 * k + 1}`)).map((doc, k) => ({
        ...doc,
        id: `${name}-${k}`,
      }));
    const policies = [
      tcp('p-port-tcp-1', app('app-c'), [EXT.below, EXT.above], [8000, 8000]),
      tcp('p-port-tcp-2', app('app-c'), ['198.51.100.14', '198.51.100.254'], [8000, 8000]),
      ...fillers('p-port-tcp-f', (ip) => tcp('x', app('app-c'), [ip, ip], [8000, 8000])),
      udp('p-port-udp', app('app-c'), [EXT.other, EXT.other], [5353, 5353]),
      ...fillers('p-port-udp-f', (ip) => udp('x', app('app-c'), [ip, ip], [5353, 5353])),
      tcp('p-port-other', app('app-c'), [EXT.moved, EXT.moved], [9000, 9000]),
    ];
    const expectPorts = async () => {
      for (const inside of [EXT.below, EXT.low, EXT.above]) expect(await lab.tcp(c2, inside, 8000)).toBe('open');
      expect(await lab.tcp(c2, EXT.edgeAbove, 8000)).toBe('refused');
      expect(await lab.tcp(c2, EXT.low, 8001)).toBe('refused');
      expect(await lab.tcp(c2, EXT.other, 8000)).toBe('refused');
      expect(await lab.udp(c2, EXT.other, 5353)).toBe('open');
      expect(await lab.udp(c2, EXT.other, 5354)).toBe('refused');
      expect(await lab.udp(c2, EXT.low, 5353)).toBe('refused');
      expect(await lab.tcp(c2, EXT.moved, 9000)).toBe('open');
      expect(await lab.tcp(c2, EXT.low, 9000)).toBe('refused');
    };
    await syncOk(policies);
    const saved = await lab.execOk(cell, ['ipset', 'save']);
    const [, name = ''] = saved.match(/^create (dyneg-n-\w+) hash:net,port /m) ?? [];
    expect(name).not.toBe('');
    expect(saved.match(/^create dyneg-\S+/gm)).toHaveLength(1);
    for (const entry of ['198.51.100.0/24,tcp:8000', '198.51.100.13,tcp:8000 nomatch', `${EXT.other},udp:5353`])
      expect(saved).toContain(`add ${name} ${entry}\n`);
    expect(await ownedState()).toContain(`--match-set ${name} dst,dst -j ACCEPT`);
    await expectPorts();
    // Read back whole: /32 blocks come back without their prefix, before the port.
    const dry = await runAgent(cell, policyList(policies), containerStore(entries), ['--dry-run', '--verify', 'full']);
    expect(dry.stdout).toBe('# no changes\n');
    // An entry lost: the next sync sees the set one short and swaps a whole copy in.
    await lab.execOk(cell, ['ipset', 'del', name, `${EXT.other},udp:5353`]);
    expect(await lab.udp(c2, EXT.other, 5353)).toBe('refused');
    await syncOk(policies);
    await expectPorts();
    await syncOk([]);
  });

  it('is idempotent: the same input twice leaves the ruleset byte-identical and a dry run finds nothing', async () => {
    const policies = [
      tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.high], [8000, 8001]),
      udp('p-space-1-udp', space('space-1'), [EXT.other, EXT.other], [5353, 5353]),
    ];
    await syncOk(policies);
    const first = await lab.execOk(cell, ['iptables-save']);
    await syncOk(policies);
    const second = await lab.execOk(cell, ['iptables-save']);
    const strip = (text: string) => text.replace(/^#.*$/gm, '');
    expect(strip(second)).toBe(strip(first));
    const dry = await runAgent(cell, policyList(policies), containerStore(entries), ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe('# no changes\n');
  });

  it('scenario 1: a new policy opens the way for a running app without restart', async () => {
    const base = [tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.high], [8000, 8001])];
    await syncOk(base);
    expect(await lab.tcp(c2, EXT.moved, 9000)).toBe('refused');
    const added = [...base, tcp('p-app-c-db', app('app-c'), [EXT.moved, EXT.moved], [9000, 9000])];
    // The dry run names the destination it adds, read against this kernel; the entry chain, where
    // only the record rule changes, is not listed.
    const dry = await runAgent(cell, policyList(added), containerStore(entries), ['--dry-run']);
    expect(dry.code).toBe(0);
    const account = dry.stdout.slice(0, dry.stdout.indexOf('*filter'));
    expect(account).toMatch(/^# created dyneg-a-[0-9a-f]{16}: app app-c \(allow list\); 1 rules written$/m);
    expect(account).toContain(`#   + destination p-app-c-db (dest-p-app-c-db): tcp 9000 to ${EXT.moved}\n`);
    expect(account).not.toContain('entry chain');
    expect(account).not.toMatch(/^# {3}- /m);
    await syncOk(added);
    expect(await lab.tcp(c2, EXT.moved, 9000)).toBe('open');
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
  });

  it('scenario 2: a destination IP change closes the old address and opens the new one', async () => {
    await syncOk([tcp('p-app-c-db', app('app-c'), [EXT.other, EXT.other], [9000, 9000])]);
    expect(await lab.tcp(c2, EXT.other, 9000)).toBe('open');
    expect(await lab.tcp(c2, EXT.moved, 9000)).toBe('refused');
    const dry = await runAgent(
      cell,
      policyList([tcp('p-app-c-db', app('app-c'), [EXT.moved, EXT.moved], [9000, 9000])]),
      containerStore(entries),
      ['--dry-run'],
    );
    // Only the changed rule is rewritten, in place, and the record rule that names the new inputs.
    const edits = dry.stdout.split('\n').filter((line) => /^-[ARDIX] /.test(line));
    expect(edits).toHaveLength(2);
    expect(edits.filter((line) => line.includes('dyneg-record:'))).toHaveLength(1);
    expect(dry.stdout).toMatch(/^-R dyneg-a-/m);
    await syncOk([tcp('p-app-c-db', app('app-c'), [EXT.moved, EXT.moved], [9000, 9000])]);
    expect(await lab.tcp(c2, EXT.other, 9000)).toBe('refused');
    expect(await lab.tcp(c2, EXT.moved, 9000)).toBe('open');
  });

  it('keeps the last good rules on bad input and says what is wrong', async () => {
    const good = [tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.high], [8000, 8001])];
    await syncOk(good);
    const before = await ownedState();
    const store = containerStore(entries);
    const policies = policyList(good);
    const withDestination = (patch: Record<string, unknown>) =>
      policyList([{ ...tcp('p-bad', app('app-a'), [EXT.low, EXT.low], [1, 2]), destination: patch }]);
    const cases: [string, unknown, unknown, RegExp][] = [
      ['malformed policies', '{"total_egress_policies": 1, ', store, /--policies: malformed JSON/],
      ['malformed store', policies, '{oops', /--containers: malformed JSON/],
      [
        'not an IPv4 address',
        withDestination({
          id: 'd',
          name: 'n',
          protocol: 'tcp',
          ips: [{ start: '10.0.0.256', end: '10.0.0.1' }],
          ports: [{ start: 1, end: 2 }],
        }),
        store,
        /egress_policies\[0\]\.destination\.ips\[0\]\.start: must be an IPv4 address/,
      ],
      [
        'port out of range',
        withDestination({
          id: 'd',
          name: 'n',
          protocol: 'tcp',
          ips: [{ start: EXT.low, end: EXT.low }],
          ports: [{ start: 1, end: 70000 }],
        }),
        store,
        /ports\[0\]\.end: must be between 1 and 65535/,
      ],
      [
        'unknown protocol',
        withDestination({ id: 'd', name: 'n', protocol: 'gre', ips: [{ start: EXT.low, end: EXT.low }] }),
        store,
        /protocol: must be one of tcp, udp, icmp/,
      ],
      [
        'iptables arguments smuggled in an address',
        withDestination({
          id: 'd',
          name: 'n',
          protocol: 'tcp',
          ips: [{ start: '0.0.0.0/0 -j ACCEPT', end: EXT.low }],
          ports: [{ start: 1, end: 2 }],
        }),
        store,
        /ips\[0\]\.start: must be an IPv4 address/,
      ],
      [
        'iptables arguments smuggled in an app id',
        policies,
        containerStore([{ ip: c0.ip, appId: 'x -j ACCEPT', spaceId: 'space-1' }]),
        /metadata\.app_id: must be 1-128 characters/,
      ],
      [
        'container ip not IPv4',
        policies,
        containerStore([{ ip: '10.255.1.2/8', appId: 'a', spaceId: 's' }]),
        /\.ip: must be an IPv4 address/,
      ],
      ['total does not match', { ...policies, total_egress_policies: 7 }, store, /total_egress_policies: must equal/],
    ];
    // Two at a time: each is a separate agent process, and none of them may change anything.
    const results: Awaited<ReturnType<typeof runAgent>>[] = [];
    for (let index = 0; index < cases.length; index += 2) {
      const batch = cases.slice(index, index + 2);
      results.push(
        ...(await Promise.all(batch.map(([, badPolicies, badStore]) => runAgent(cell, badPolicies, badStore)))),
      );
    }
    for (const [index, [name, , , message]] of cases.entries()) {
      const result = results[index];
      if (result === undefined) throw new Error(`no result for ${name}`);
      expect(result.code, name).not.toBe(0);
      expect(result.stderr, name).toMatch(/^error: /);
      expect(result.stderr, name).toMatch(message);
      expect(result.stderr.trim().split('\n'), name).toHaveLength(1);
    }
    const badOverlay = await runAgent(cell, policies, store, ['--overlay-cidr', '10.255.0.0/99']);
    expect(badOverlay.code).toBe(2);
    expect(badOverlay.stderr).toMatch(/^error: --overlay-cidr/);
    const badUnknown = await runAgent(cell, policies, store, ['--unknown-sources', 'deny']);
    expect(badUnknown.code).toBe(2);
    expect(badUnknown.stderr).toMatch(/^error: --unknown-sources: must be reject or allow, got "deny"/);
    expect(await ownedState()).toBe(before);
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('refused');
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('repairs drift: deleted rules, a deleted hook and emptied chains come back on the next sync', async () => {
    const policies = [tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.high], [8000, 8001])];
    await syncOk(policies);
    const good = await ownedState();
    await lab.execOk(cell, ['iptables', '-D', containerChain(c1.ip), '1']);
    await lab.execOk(cell, [
      'iptables',
      '-D',
      'FORWARD',
      '-m',
      'comment',
      '--comment',
      'dyneg:hook',
      '-j',
      'dyneg-FORWARD',
    ]);
    await lab.execOk(cell, ['iptables', '-F', containerChain(c0.ip)]);
    await lab.execOk(cell, ['iptables', '-A', containerChain(c2.ip), '-j', 'ACCEPT']);
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('open');
    await syncOk(policies);
    expect(await ownedState()).toBe(good);
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('refused');
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('keeps its hook FORWARD’s first rule: a rule put above it, or a log prefix that reads like it, is no hook', async () => {
    const policies = [tcp('p-app-a-tcp', app('app-a'), [EXT.low, EXT.high], [8000, 8001])];
    const forward = async () =>
      (await lab.execOk(cell, ['iptables', '-S', 'FORWARD'])).split('\n').filter((line) => line.startsWith('-A '));
    const hook = /^-A FORWARD -m comment --comment "?dyneg:hook"? -j dyneg-FORWARD$/;
    const bypass = ['-s', '10.255.0.0/16', '-j', 'ACCEPT'];
    await syncOk(policies);
    const good = await ownedState();
    // Another writer (a container runtime, an operator's script) inserts an ACCEPT at the top: the
    // overlay gets out past every policy until the next sync, which needs no change to notice.
    await lab.execOk(cell, ['iptables', '-I', 'FORWARD', '1', ...bypass]);
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('open');
    await syncOk(policies);
    const [first, ...rest] = await forward();
    expect(first).toMatch(hook);
    expect(rest).toContain('-A FORWARD -s 10.255.0.0/16 -j ACCEPT');
    expect(rest.filter((line) => hook.test(line))).toEqual([]);
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('refused');
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    await lab.execOk(cell, ['iptables', '-D', 'FORWARD', ...bypass]);

    // The hook gone, and an operator's log rule whose prefix reads like it: the hook comes back.
    const log = ['-s', '10.255.9.5', '-j', 'LOG', '--log-prefix', 'fw -j dyneg-FORWARD '];
    await lab.execOk(cell, ['iptables', '-A', 'FORWARD', ...log]);
    await lab.execOk(cell, ['iptables', '-D', 'FORWARD', '1']);
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('open');
    await syncOk(policies);
    expect((await forward())[0]).toMatch(hook);
    expect(await lab.tcp(c0, EXT.above, 8000)).toBe('refused');
    await lab.execOk(cell, ['iptables', '-D', 'FORWARD', ...log]);
    expect(await ownedState()).toBe(good);
    expect(await operatorState()).toBe(operatorBaseline);
  });

  it('folds many destinations into an owned ipset and removes it when no longer used', async () => {
    // 32 destinations of one service (the default threshold is 8): 4 in the lab, 28 elsewhere.
    const many = ['198.51.100.9', '198.51.100.10', '198.51.100.12', '203.0.113.6'].flatMap((ip, i) => [
      tcp(`p-set-${i}`, app('app-b'), [ip, ip], [9000, 9000]),
      ...Array.from({ length: 7 }, (_, k) =>
        tcp(
          `p-set-${i}-${k}`,
          app('app-b'),
          [`192.0.2.${100 + i * 7 + k}`, `192.0.2.${100 + i * 7 + k}`],
          [9000, 9000],
        ),
      ),
    ]);
    await syncOk(many);
    const sets = await lab.execOk(cell, ['ipset', 'list', '-n']);
    expect(sets.split('\n').filter((name) => name.startsWith('dyneg-'))).toHaveLength(1);
    expect(await lab.tcp(c1, EXT.low, 9000)).toBe('open');
    expect(await lab.tcp(c1, EXT.moved, 9000)).toBe('open');
    expect(await lab.tcp(c1, EXT.high, 9000)).toBe('refused');
    expect(await lab.tcp(c1, EXT.low, 8000)).toBe('refused');
    const dry = await runAgent(cell, policyList(many), containerStore(entries), ['--dry-run']);
    expect(dry.stdout).toBe('# no changes\n');
    // Drift in a set's members is repaired by swapping in a fresh copy.
    const [setName = ''] = sets.split('\n').filter((name) => name.startsWith('dyneg-'));
    await lab.execOk(cell, ['ipset', 'flush', setName]);
    expect(await lab.tcp(c1, EXT.low, 9000)).toBe('refused');
    await syncOk(many);
    expect(await lab.tcp(c1, EXT.low, 9000)).toBe('open');
    // A scratch set left by an interrupted repair is cleared by the next repair, and only once.
    await lab.execOk(cell, ['ipset', 'create', tempSetName(setName), 'hash:net', 'family', 'inet']);
    await lab.execOk(cell, ['ipset', 'flush', setName]);
    await syncOk(many);
    expect(await lab.tcp(c1, EXT.low, 9000)).toBe('open');
    const repaired = await lab.execOk(cell, ['ipset', 'list', '-n']);
    expect(repaired.split('\n').filter((name) => name.startsWith('dyneg-'))).toEqual([setName]);
    await syncOk([]);
    const after = await lab.execOk(cell, ['ipset', 'list', '-n']);
    expect(after.split('\n').filter((name) => name.startsWith('dyneg-'))).toEqual([]);
    expect(await lab.tcp(c1, EXT.low, 9000)).toBe('refused');
  });

  it('defines a destination many apps use once, lists it from each, repairs either kind of set, and drops them when unused', async () => {
    // app-a, app-b and 20 apps of containers the lab does not run (their rules are programmed all
    // the same): 8 one-address destinations of their own each (a set) and one wide destination all use
    // (85.85.85.85 to .12, ending below edgeAbove: 28 entries, so listing it from 22 sources beats
    // copying it). Two of its entries are holes, and edgeAbove lies in one of them (a nomatch /19 in
    // a /14, with the /22 and /29s below it members again).
    const WIDE_START = '85.85.85.85';
    const phantoms = Array.from({ length: 20 }, (_, k) => ({
      ip: `10.255.3.${10 + k}`,
      appId: `app-p${k}`,
      spaceId: 'space-9',
    }));
    const store = [...entries, ...phantoms];
    const wide = (appId: string) => tcp(`p-wide-${appId}`, app(appId), [WIDE_START, EXT.above], [9000, 9000]);
    // Even addresses: no two touch, so each stays a member of its own.
    const own = (appId: string, base: string) =>
      Array.from({ length: 8 }, (_, k) =>
        tcp(`p-own-${appId}-${k}`, app(appId), [`${base}.${10 + 2 * k}`, `${base}.${10 + 2 * k}`], [9000, 9000]),
      );
    const phantomPolicies = phantoms.flatMap(({ appId }, k) => [...own(appId, `100.64.${k}`), wide(appId)]);
    const all = [
      ...own('app-a', '192.0.2'),
      wide('app-a'),
      ...own('app-b', '192.0.3'),
      wide('app-b'),
      ...phantomPolicies,
    ];
    const ownedSets = async () => {
      const saved = await lab.execOk(cell, ['ipset', 'save']);
      const sets = new Map<string, string[]>();
      for (const line of saved.split('\n')) {
        const [verb, name = '', member = ''] = line.split(' ');
        if (!name.startsWith('dyneg-')) continue;
        if (verb === 'create') sets.set(name, [member]);
        if (verb === 'add') sets.get(name)?.push(member);
      }
      return sets;
    };
    const typesOf = (sets: Map<string, string[]>) => [...sets.values()].map(([type]) => type);
    await syncOk(all, store);
    let sets = await ownedSets();
    const holdingWide = [...sets].filter(([, entries]) => entries.includes(WIDE_START));
    expect(holdingWide.map(([, [type, ...members]]) => [type, members.length])).toEqual([['hash:net', 28]]);
    const lists = [...sets].filter(([, [type]]) => type === 'list:set');
    expect(lists).toHaveLength(22);
    expect(typesOf(sets).filter((type) => type === 'hash:net')).toHaveLength(23);
    for (const from of [c0, c1]) {
      for (const ip of [EXT.edgeBelow, EXT.low, EXT.high, EXT.above])
        expect(await lab.tcp(from, ip, 9000)).toBe('open');
      expect(await lab.tcp(from, EXT.edgeAbove, 9000)).toBe('refused');
      expect(await lab.tcp(from, EXT.low, 8000)).toBe('refused');
    }
    expect(await lab.tcp(c2, EXT.low, 9000)).toBe('refused');

    // A list emptied: only the app listing it loses the destination, until the next sync.
    const appAOwn = [...sets].find(([, entries]) => entries.includes('192.0.2.10'))?.[0] ?? '';
    const appAList = lists.find(([, [, ...members]]) => members.includes(appAOwn))?.[0] ?? '';
    await lab.execOk(cell, ['ipset', 'flush', appAList]);
    expect(await lab.tcp(c0, EXT.low, 9000)).toBe('refused');
    expect(await lab.tcp(c1, EXT.low, 9000)).toBe('open');
    await syncOk(all, store);
    expect(await lab.tcp(c0, EXT.low, 9000)).toBe('open');
    expect(await lab.tcp(c1, EXT.low, 9000)).toBe('open');
    // The shared destination emptied: both lose it; the next sync swaps a full copy in under the lists.
    const wideName = holdingWide[0]?.[0] ?? '';
    await lab.execOk(cell, ['ipset', 'flush', wideName]);
    expect(await lab.tcp(c0, EXT.low, 9000)).toBe('refused');
    expect(await lab.tcp(c1, EXT.high, 9000)).toBe('refused');
    await syncOk(all, store);
    expect(await lab.tcp(c0, EXT.low, 9000)).toBe('open');
    expect(await lab.tcp(c1, EXT.high, 9000)).toBe('open');
    expect([...(await ownedSets()).keys()].sort()).toEqual([...sets.keys()].sort());

    // Only app-a still uses the wide destination: it folds back into app-a's own set, no list is left.
    await syncOk([...own('app-a', '192.0.2'), wide('app-a'), ...own('app-b', '192.0.3')], store);
    sets = await ownedSets();
    expect(typesOf(sets)).toEqual(['hash:net', 'hash:net']);
    expect(await lab.tcp(c0, EXT.high, 9000)).toBe('open');
    expect(await lab.tcp(c1, EXT.high, 9000)).toBe('refused');
    await syncOk([], store);
    expect((await ownedSets()).size).toBe(0);
  });

  it('removes the chains of containers that left the cell; their new connections are refused', async () => {
    const policies = [tcp('p-app-b-tcp', app('app-b'), [EXT.low, EXT.low], [8000, 8000])];
    await syncOk(policies);
    expect(await ownedState()).toContain(containerChain(c1.ip));
    expect(await lab.tcp(c1, EXT.low, 8000)).toBe('open');
    const remaining = entries.filter((entry) => entry.ip !== c1.ip);
    await syncOk(policies, remaining);
    const state = await ownedState();
    expect(state).not.toContain(containerChain(c1.ip));
    expect(state).toContain(containerChain(c0.ip));
    // Its app's policy no longer applies to it: it is not in the file.
    expect(await lab.tcp(c1, EXT.low, 8000)).toBe('refused');
    expect(await lab.udp(c1, EXT.low, 5353)).toBe('refused');
    expect(await lab.ping(c1, EXT.low)).toBe(false);
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('refused');
    // Everyone leaves: only the root chain and the hook remain, and the root still refuses the overlay.
    await syncOk([], []);
    expect((await ownedState()).split('\n').filter((line) => line.startsWith(':'))).toEqual([':dyneg-FORWARD - [0:0]']);
    for (const container of [c0, c1, c2, ...unlisted]) {
      expect(await lab.tcp(container, EXT.low, 8000), container.ip).toBe('refused');
    }
    expect(await lab.tcp(foreign, EXT.low, 8000)).toBe('open');
    // With allow and nobody in the file, the cell is as it was before the first sync.
    const allow = await runAgent(cell, policyList([]), containerStore([]), ['--unknown-sources', 'allow']);
    expect(allow.code).toBe(0);
    expect(await lab.tcp(c0, EXT.low, 8000)).toBe('open');
    expect(await lab.ping(neighbour, EXT.low)).toBe(true);
    expect(await operatorState()).toBe(operatorBaseline);
  });
});
