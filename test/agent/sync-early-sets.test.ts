// Sets created while the rest is planned (early-sets.ts), through sync() with a scripted kernel: on
// success the sets are made before the one iptables transaction; when one restore fails, every set
// handed to the early restores is removed and no rule is written.
import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../agent/runner.js';
import { parsePolicies } from '../../agent/source/files.js';
import { sync } from '../../agent/sync.js';
import type { Container } from '../../core/plan/model.js';
import { app, policyList, tcp } from './fixtures.js';

const containers: Container[] = [{ ip: '10.255.1.2', appId: 'app-a', spaceId: 's1', lifecycle: 'running' }];

/** Ten destinations for one service: over the set threshold, so one hash:net set. */
const policies = parsePolicies(
  JSON.stringify(
    policyList(
      Array.from({ length: 10 }, (_, index) =>
        tcp(`p${index}`, app('app-a'), [`198.51.100.${index * 2}`, `198.51.100.${index * 2}`], [443, 443]),
      ),
    ),
  ),
);

/** A kernel with no rules and no sets that records what it is asked; `failRestore` fails set creations. */
function scriptedKernel(failRestore: boolean) {
  const calls: string[] = [];
  const created = new Set<string>();
  const runner: CommandRunner = async (command, args, input = '') => {
    calls.push(`${command} ${args.join(' ')}`);
    if (command === 'iptables-save') return { code: 0, stdout: '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', stderr: '' };
    if (command === 'ipset' && args[0] === 'save') {
      return {
        code: 0,
        stdout: [...created].map((name) => `create ${name} hash:net family inet\n`).join(''),
        stderr: '',
      };
    }
    if (command === 'ipset' && args[0] === 'restore') {
      for (const line of input.split('\n')) {
        const [verb, name] = line.split(' ');
        if (verb === 'create' && name !== undefined) created.add(name);
        if (verb === 'destroy' && name !== undefined) created.delete(name);
      }
      const creates = input.startsWith('create ');
      return failRestore && creates
        ? { code: 1, stdout: '', stderr: 'ipset v7.17: Kernel error received: out of memory\n' }
        : { code: 0, stdout: '', stderr: '' };
    }
    return { code: 0, stdout: '', stderr: '' };
  };
  return { runner, calls, created };
}

describe('sync with the kernel sets known before planning', () => {
  it('creates the new sets before the iptables transaction and reports their lines', async () => {
    const kernel = scriptedKernel(false);
    const result = await sync(policies, containers, {
      runner: kernel.runner,
      readBack: 'sizes',
      setSizes: new Map(),
    });
    const restore = kernel.calls.indexOf('ipset restore');
    const transaction = kernel.calls.findIndex((call) => call.startsWith('iptables-restore'));
    expect(restore).toBeGreaterThanOrEqual(0);
    expect(transaction).toBeGreaterThan(restore);
    expect(kernel.created.size).toBe(1);
    expect(result.stats.setsCreated).toBe(1);
    expect(result.setsBefore.filter((line) => line.startsWith('add '))).toHaveLength(10);
  });

  it('removes every early set and writes no rule when a set restore fails', async () => {
    const kernel = scriptedKernel(true);
    await expect(
      sync(policies, containers, { runner: kernel.runner, readBack: 'sizes', setSizes: new Map() }),
    ).rejects.toThrow('ipset restore failed (exit 1): ipset v7.17: Kernel error received: out of memory');
    expect(kernel.calls.some((call) => call.startsWith('iptables-restore'))).toBe(false);
    expect(kernel.created.size).toBe(0);
  });
});
