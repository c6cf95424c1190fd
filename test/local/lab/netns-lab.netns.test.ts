// The namespace lab itself, with two cells, as later end-to-end tests use it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, labAvailable } from '../../../local/lab/netns-lab.js';

describe.runIf(labAvailable())('namespace lab with two cells', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({
      tag: 'labtwo',
      cells: [{ count: 2 }, { ips: ['10.255.2.77'] }],
      external: { addresses: ['198.51.100.10', '203.0.113.5'], tcpPorts: [8000], udpPorts: [5353] },
    });
  });

  afterAll(async () => {
    await lab?.destroy();
    const left = await import('../../../local/lab/netns-lab.js').then(({ run }) => run(['ip', 'netns', 'list']));
    expect(left.stdout).not.toContain(`dl-labtwo-${process.pid}-`);
  });

  it('routes every container of every cell to the external services and to each other', async () => {
    const [cell0, cell1] = lab.cells;
    expect(cell0?.containers.map((c) => c.ip)).toEqual(['10.255.1.2', '10.255.1.3']);
    expect(cell1?.containers.map((c) => c.ip)).toEqual(['10.255.2.77']);
    for (const container of [...(cell0?.containers ?? []), ...(cell1?.containers ?? [])]) {
      expect(await lab.tcp(container, '198.51.100.10', 8000)).toBe('open');
      expect(await lab.tcp(container, '203.0.113.5', 8001, 500)).toBe('refused');
      expect(await lab.udp(container, '203.0.113.5', 5353)).toBe('open');
      expect(await lab.ping(container, '198.51.100.10')).toBe(true);
    }
    const [a] = cell0?.containers ?? [];
    const [b] = cell1?.containers ?? [];
    if (a === undefined || b === undefined) throw new Error('missing containers');
    expect(await lab.ping(a, b.ip)).toBe(true);
    // Each cell has its own iptables: a rule in one does not affect the other.
    await lab.execOk(cell1?.ns ?? '', [
      'iptables',
      '-I',
      'FORWARD',
      '-p',
      'tcp',
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset',
    ]);
    expect(await lab.tcp(b, '198.51.100.10', 8000)).toBe('refused');
    expect(await lab.tcp(a, '198.51.100.10', 8000)).toBe('open');
    expect(await lab.execOk(a.ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(`${a.ip}/32`);
  });

  it('watches: probes until the expected result, and says when on the one clock every process reads', async () => {
    const [container] = lab.cells[0]?.containers ?? [];
    const cell = lab.cells[0]?.ns ?? '';
    if (container === undefined) throw new Error('missing container');
    const block = ['iptables', '-I', 'FORWARD', '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'];
    await lab.execOk(cell, block);
    const before = process.hrtime.bigint();
    const watching = lab.watchTcp(container, '198.51.100.10', 8000, 'open', 5, 5_000);
    // Still refused for a while: the watch keeps probing until the rule goes.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const lifted = process.hrtime.bigint();
    await lab.execOk(cell, ['iptables', '-D', 'FORWARD', '1']);
    const seen = await watching;
    const after = process.hrtime.bigint();
    if (seen === 'timeout') throw new Error('watch timed out');
    expect(seen > lifted && seen <= after).toBe(true);
    expect(seen > before).toBe(true);
    // Refused at once, and a result that never comes is a timeout.
    expect(typeof (await lab.watchTcp(container, '203.0.113.5', 8001, 'refused', 5, 1_000))).toBe('bigint');
    expect(await lab.watchTcp(container, '203.0.113.5', 8001, 'open', 5, 200)).toBe('timeout');
  });
});
