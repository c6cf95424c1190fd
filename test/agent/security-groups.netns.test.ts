// Security groups against a real kernel: containers of one space in both lifecycles, of another
// space and of another organisation, on one cell; real connections and pings to an external host.
// Tests run in order on one lab, as syncs on a cell do; the lab is removed whatever happens.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lifecycle } from '../../core/domain/security-group.js';
import type { BindingScope, GroupRuleDocument, SecurityGroupsSection } from '../../core/domain/snapshot-groups.js';
import { groupChain } from '../../core/plan/names.js';
import { createLab, type Lab, type LabContainer, labAvailable } from '../../local/lab/netns-lab.js';
import { containersOf, firstCell } from '../helpers/lab-cell.js';
import { app, containerStore, type PolicyDoc, policyList, type StoreEntry, tcp } from './fixtures.js';
import { addOperatorRules, operatorState as kernelOperatorState, ownedFilterState } from './kernel-state.js';
import { runAgent } from './run-agent.js';

const EXT = {
  a8: '198.51.100.8',
  a9: '198.51.100.9',
  a10: '198.51.100.10',
  a11: '198.51.100.11',
  a12: '198.51.100.12',
  b5: '203.0.113.5',
  b6: '203.0.113.6',
  b7: '203.0.113.7',
};

interface Binding {
  readonly scope: BindingScope;
  readonly lifecycle: Lifecycle;
  readonly target?: string;
  readonly rules: readonly GroupRuleDocument[];
}

const range = (start: string, end = start) => ({ start, end });
const tcpRule = (ips: GroupRuleDocument['ips'], port = 8000): GroupRuleDocument => ({
  protocol: 'tcp',
  ips,
  ports: [{ start: port, end: port }],
});

/** The section a snapshot would carry for these bindings: each distinct rule once. */
function section(bindings: readonly Binding[]): SecurityGroupsSection {
  const rules: GroupRuleDocument[] = [];
  const index = new Map<string, number>();
  return {
    rules,
    bindings: bindings.map(({ scope, lifecycle, target = '', rules: own }) => {
      const indexes = own.map((rule) => {
        const key = JSON.stringify(rule);
        let found = index.get(key);
        if (found === undefined) {
          found = rules.push(rule) - 1;
          index.set(key, found);
        }
        return found;
      });
      return [scope, lifecycle, target, indexes] as const;
    }),
  };
}

describe.runIf(labAvailable())('security groups on a real cell', () => {
  let lab: Lab;
  let cell: string;
  let running: LabContainer; // app-r, space s1, org o1, app
  let staging: LabContainer; // app-st, space s1, org o1, staging
  let task: LabContainer; // app-t, space s2, org o1, task
  let other: LabContainer; // app-o, space s3, org o2, app
  let entries: StoreEntry[];
  let operatorBaseline: string;

  const sync = (
    bindings: readonly Binding[],
    v1: readonly PolicyDoc[] = [],
    extra: readonly string[] = [],
    store = entries,
  ) => runAgent(cell, { ...policyList(v1), security_groups: section(bindings) }, containerStore(store), extra);
  const syncOk = async (
    bindings: readonly Binding[],
    v1: readonly PolicyDoc[] = [],
    extra: readonly string[] = [],
    store = entries,
  ) => {
    const result = await sync(bindings, v1, extra, store);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  };
  const operatorState = () => kernelOperatorState(lab, cell);
  /** Every container's TCP probe to host:port, in the order running, staging, task, other. */
  const tcpFromAll = (host: string, port = 8000) =>
    Promise.all([running, staging, task, other].map((from) => lab.tcp(from, host, port)));

  beforeAll(async () => {
    lab = await createLab({
      tag: 'asgsync',
      cells: [{ ips: ['10.255.1.2', '10.255.1.3', '10.255.1.4', '10.255.1.5'] }],
      external: { addresses: Object.values(EXT), tcpPorts: [8000, 8001], udpPorts: [5353] },
    });
    const cellInfo = firstCell(lab);
    cell = cellInfo.ns;
    [running, staging, task, other] = containersOf(cellInfo, 4);
    entries = [
      { ip: running.ip, appId: 'app-r', spaceId: 's1', orgId: 'o1', workload: 'app' },
      { ip: staging.ip, appId: 'app-st', spaceId: 's1', orgId: 'o1', workload: 'staging' },
      { ip: task.ip, appId: 'app-t', spaceId: 's2', orgId: 'o1', workload: 'task' },
      { ip: other.ip, appId: 'app-o', spaceId: 's3', orgId: 'o2', workload: null },
    ];
    await addOperatorRules(lab, cell);
    operatorBaseline = await operatorState();
  });

  afterEach(async () => {
    if (lab !== undefined) expect(await operatorState()).toBe(operatorBaseline);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('without groups every container is refused', async () => {
    await syncOk([]);
    expect(await tcpFromAll(EXT.b5)).toEqual(['refused', 'refused', 'refused', 'refused']);
  });

  it('opens a staging group for the staging container only, a running group for app and task ones only', async () => {
    await syncOk([
      { scope: 'global', lifecycle: 'staging', rules: [tcpRule([range(EXT.b5)])] },
      { scope: 'global', lifecycle: 'running', rules: [tcpRule([range(EXT.b6)])] },
      { scope: 'space', lifecycle: 'staging', target: 's1', rules: [tcpRule([range(EXT.b7)])] },
    ]);
    expect(await tcpFromAll(EXT.b5)).toEqual(['refused', 'open', 'refused', 'refused']);
    expect(await tcpFromAll(EXT.b6)).toEqual(['open', 'refused', 'open', 'open']);
    // s1's staging binding: the staging container of s1, not its running one.
    expect(await tcpFromAll(EXT.b7)).toEqual(['refused', 'open', 'refused', 'refused']);
  });

  it('applies a space binding to its space, an organisation binding to its organisation, a global one to all', async () => {
    await syncOk([
      { scope: 'space', lifecycle: 'running', target: 's1', rules: [tcpRule([range(EXT.b5)])] },
      { scope: 'organization', lifecycle: 'running', target: 'o1', rules: [tcpRule([range(EXT.b6)])] },
      { scope: 'global', lifecycle: 'running', rules: [tcpRule([range(EXT.b7)])] },
    ]);
    // Order: running (s1, o1), staging (s1, o1), task (s2, o1), other (s3, o2).
    expect(await tcpFromAll(EXT.b5)).toEqual(['open', 'refused', 'refused', 'refused']);
    expect(await tcpFromAll(EXT.b6)).toEqual(['open', 'refused', 'open', 'refused']);
    expect(await tcpFromAll(EXT.b7)).toEqual(['open', 'refused', 'open', 'open']);
    // One chain per binding, shared: the organisation chain is jumped to from two containers.
    const state = await ownedFilterState(lab, cell);
    const orgChain = groupChain('organization', 'running', 'o1');
    expect(state.split('\n').filter((line) => line.endsWith(`-j ${orgChain}`))).toHaveLength(2);
  });

  it('merges groups with the v1 lists: an app policy still holds, for a staging container too', async () => {
    await syncOk(
      [{ scope: 'global', lifecycle: 'running', rules: [tcpRule([range(EXT.b5)])] }],
      [
        tcp('p-st', app('app-st'), [EXT.b6, EXT.b6], [8000, 8000]),
        tcp('p-r', app('app-r'), [EXT.b7, EXT.b7], [8000, 8000]),
      ],
    );
    expect(await tcpFromAll(EXT.b5)).toEqual(['open', 'refused', 'open', 'open']);
    expect(await tcpFromAll(EXT.b6)).toEqual(['refused', 'open', 'refused', 'refused']);
    expect(await tcpFromAll(EXT.b7)).toEqual(['open', 'refused', 'refused', 'refused']);
  });

  it('lets protocol all through for tcp, udp and icmp, to its addresses only', async () => {
    await syncOk([
      { scope: 'global', lifecycle: 'running', rules: [{ protocol: 'all', ips: [range(EXT.b5)], ports: [] }] },
    ]);
    expect(await lab.tcp(running, EXT.b5, 8000)).toBe('open');
    expect(await lab.tcp(running, EXT.b5, 8001)).toBe('open');
    expect(await lab.udp(running, EXT.b5, 5353)).toBe('open');
    expect(await lab.ping(running, EXT.b5)).toBe(true);
    expect(await lab.tcp(running, EXT.b6, 8000)).toBe('refused');
    expect(await lab.udp(running, EXT.b6, 5353)).toBe('refused');
    expect(await lab.ping(running, EXT.b6)).toBe(false);
    // Staging is not running: nothing.
    expect(await lab.udp(staging, EXT.b5, 5353)).toBe('refused');
    expect(await lab.ping(staging, EXT.b5)).toBe(false);
  });

  it('enforces a comma-list destination and a CIDR exactly at its bounds', async () => {
    // 198.51.100.10/31 (.10-.11) and 203.0.113.5, as CF's "198.51.100.10/31,203.0.113.5" parses.
    await syncOk([
      { scope: 'global', lifecycle: 'running', rules: [tcpRule([range(EXT.a10, EXT.a11), range(EXT.b5)])] },
    ]);
    expect(await lab.tcp(running, EXT.a10, 8000)).toBe('open');
    expect(await lab.tcp(running, EXT.a11, 8000)).toBe('open');
    expect(await lab.tcp(running, EXT.b5, 8000)).toBe('open');
    expect(await lab.tcp(running, EXT.a9, 8000)).toBe('refused');
    expect(await lab.tcp(running, EXT.a12, 8000)).toBe('refused');
    expect(await lab.tcp(running, EXT.b6, 8000)).toBe('refused');
    expect(await lab.tcp(running, EXT.a10, 8001)).toBe('refused');
  });

  it('folds a 1,000-entry destination list into an ipset, and removing the binding closes it again', async () => {
    // Odd addresses only: no two touch, so none merge and the set holds one member per entry.
    const many = [
      ...Array.from({ length: 999 }, (_, k) => range(`100.64.${Math.floor(k / 100)}.${(k % 100) * 2 + 1}`)),
      range(EXT.b6),
    ];
    const binding: Binding = { scope: 'organization', lifecycle: 'running', target: 'o1', rules: [tcpRule(many)] };
    await syncOk([binding]);
    const saved = await lab.execOk(cell, ['ipset', 'save']);
    const members = saved.split('\n').filter((line) => line.startsWith('add dyneg-'));
    expect(members).toHaveLength(1000);
    expect(members.some((line) => line.endsWith(` ${EXT.b6}`) || line.endsWith(` ${EXT.b6}/32`))).toBe(true);
    expect(await ownedFilterState(lab, cell)).toContain('--match-set dyneg-');
    expect(await tcpFromAll(EXT.b6)).toEqual(['open', 'refused', 'open', 'refused']);
    expect(await tcpFromAll(EXT.b5)).toEqual(['refused', 'refused', 'refused', 'refused']);
    // Unbound: closed again, chain and set gone.
    await syncOk([]);
    expect(await tcpFromAll(EXT.b6)).toEqual(['refused', 'refused', 'refused', 'refused']);
    expect(await ownedFilterState(lab, cell)).not.toContain(groupChain('organization', 'running', 'o1'));
    expect(
      (await lab.execOk(cell, ['ipset', 'list', '-n'])).split('\n').filter((name) => name.startsWith('dyneg-')),
    ).toEqual([]);
  });

  it('resyncs when a container changes workload: its groups follow its new lifecycle', async () => {
    const bindings: Binding[] = [
      { scope: 'space', lifecycle: 'running', target: 's1', rules: [tcpRule([range(EXT.b5)])] },
      { scope: 'space', lifecycle: 'staging', target: 's1', rules: [tcpRule([range(EXT.b6)])] },
    ];
    await syncOk(bindings);
    expect(await lab.tcp(running, EXT.b5, 8000)).toBe('open');
    expect(await lab.tcp(running, EXT.b6, 8000)).toBe('refused');
    const restaged = entries.map((entry) => (entry.ip === running.ip ? { ...entry, workload: 'staging' } : entry));
    await syncOk(bindings, [], [], restaged);
    expect(await lab.tcp(running, EXT.b5, 8000)).toBe('refused');
    expect(await lab.tcp(running, EXT.b6, 8000)).toBe('open');
    await syncOk(bindings);
    expect(await lab.tcp(running, EXT.b5, 8000)).toBe('open');
  });

  it('refuses deny networks before every allow: always for all, running and staging by lifecycle', async () => {
    const everything = { protocol: 'all', ips: [range('0.0.0.0', '255.255.255.255')], ports: [] } as const;
    const bindings: Binding[] = [
      { scope: 'global', lifecycle: 'running', rules: [everything] },
      { scope: 'global', lifecycle: 'staging', rules: [everything] },
    ];
    const v1 = [tcp('p-r-a10', app('app-r'), [EXT.a10, EXT.a10], [8000, 8000])];
    const deny = JSON.stringify({ always: [`${EXT.a10}/32`], running: [`${EXT.a11}/32`], staging: [`${EXT.a12}/32`] });
    await syncOk(bindings, v1, ['--deny-networks', deny]);
    // Order: running, staging, task, other.
    expect(await tcpFromAll(EXT.a10)).toEqual(['refused', 'refused', 'refused', 'refused']);
    expect(await tcpFromAll(EXT.a11)).toEqual(['refused', 'open', 'refused', 'refused']);
    expect(await tcpFromAll(EXT.a12)).toEqual(['open', 'refused', 'open', 'open']);
    expect(await lab.udp(running, EXT.a10, 5353)).toBe('refused');
    expect(await lab.ping(running, EXT.a10)).toBe(false);
    expect(await lab.ping(running, EXT.b5)).toBe(true);
    expect(await tcpFromAll(EXT.b5)).toEqual(['open', 'open', 'open', 'open']);

    // A bad --deny-networks is a usage error and changes nothing.
    const before = await ownedFilterState(lab, cell);
    for (const bad of ['{"always":["198.51.100.10"]}', '{"sometimes":[]}', 'not json']) {
      const result = await sync(bindings, v1, ['--deny-networks', bad]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr, bad).toMatch(/^error: --deny-networks: /);
    }
    expect(await ownedFilterState(lab, cell)).toBe(before);

    // Without deny networks the allows hold again.
    await syncOk(bindings, v1);
    expect(await tcpFromAll(EXT.a10)).toEqual(['open', 'open', 'open', 'open']);
    await syncOk([]);
  });
});
