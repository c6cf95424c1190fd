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

/**
 * A kernel with no rules and no sets that records what it is asked, keeps the owned chains and sets,
 * and refuses, as the real one does, a rule naming a set that does not exist. `failFill` fails
 * every restore that adds members.
 */
function scriptedKernel(failFill: boolean) {
  const calls: string[] = [];
  const created = new Set<string>();
  const chains = new Set<string>();
  const runner: CommandRunner = async (command, args, input = '') => {
    calls.push(`${command} ${args.join(' ')}`);
    if (command === 'iptables-save') return { code: 0, stdout: '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', stderr: '' };
    if (command === 'iptables-restore') {
      const missing = [...input.matchAll(/--match-set (\S+)/g)].find((match) => !created.has(match[1] ?? ''));
      if (missing !== undefined) return { code: 2, stdout: '', stderr: `Set ${missing[1]} doesn't exist.\n` };
      for (const line of input.split('\n')) {
        if (line.startsWith(':dyneg')) chains.add(line.slice(1).split(' ')[0] ?? '');
        if (line.startsWith('-X ')) chains.delete(line.slice(3));
      }
      return { code: 0, stdout: '', stderr: '' };
    }
    if (command === 'ipset' && args[0] === 'save') {
      return {
        code: 0,
        stdout: [...created].map((name) => `create ${name} hash:net family inet\n`).join(''),
        stderr: '',
      };
    }
    if (command === 'ipset' && args.at(-1) === 'restore') {
      // Filling takes a while (the sync must not count on the sets a fill creates before it ends).
      const fill = input.includes('\nadd ');
      if (fill) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const line of input.split('\n')) {
        const [verb, name] = line.split(' ');
        if (verb === 'create' && name !== undefined) created.add(name);
        if (verb === 'destroy' && name !== undefined) created.delete(name);
      }
      if (fill) calls.push('filled');
      return failFill && fill
        ? { code: 1, stdout: '', stderr: 'ipset v7.17: Kernel error received: out of memory\n' }
        : { code: 0, stdout: '', stderr: '' };
    }
    return { code: 0, stdout: '', stderr: '' };
  };
  return { runner, calls, created, chains };
}

const isLive = (call: string, input: string | undefined) =>
  call.startsWith('iptables-restore') && input?.includes('-I FORWARD');

describe('sync with the kernel sets known before planning', () => {
  it('creates the new sets before any rule names them, and goes live after every set is filled', async () => {
    const kernel = scriptedKernel(false);
    const result = await sync(policies, containers, {
      runner: kernel.runner,
      readBack: 'sizes',
      setSizes: new Map(),
    });
    const transactions = kernel.calls.flatMap((call, index) => (call.startsWith('iptables-restore') ? [index] : []));
    // Staged chains while the set fills (the set exists: the kernel would refuse the rule otherwise),
    // then the live transaction with the hook once it is filled.
    expect(transactions).toHaveLength(2);
    expect(transactions[0]).toBeLessThan(kernel.calls.indexOf('filled'));
    expect(transactions[1]).toBeGreaterThan(kernel.calls.indexOf('filled'));
    expect(kernel.created.size).toBe(1);
    expect(kernel.chains.has('dyneg-FORWARD')).toBe(true);
    expect(result.stats.setsCreated).toBe(1);
    expect(result.setsBefore.filter((line) => line.startsWith('add '))).toHaveLength(10);
  });

  it('removes every early set and staged chain, and never goes live, when filling a set fails', async () => {
    const kernel = scriptedKernel(true);
    const inputs: (string | undefined)[] = [];
    const runner: CommandRunner = (command, args, input) => {
      inputs.push(command === 'iptables-restore' ? input : undefined);
      return kernel.runner(command, args, input);
    };
    await expect(sync(policies, containers, { runner, readBack: 'sizes', setSizes: new Map() })).rejects.toThrow(
      'ipset restore failed (exit 1): ipset v7.17: Kernel error received: out of memory',
    );
    expect(kernel.calls.some((call, index) => isLive(call, inputs[index]))).toBe(false);
    expect(kernel.created.size).toBe(0);
    expect(kernel.chains.size).toBe(0);
  });
});
