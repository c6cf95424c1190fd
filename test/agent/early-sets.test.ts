import { describe, expect, it } from 'vitest';
import { EarlySets } from '../../agent/early-sets.js';
import { ApplyError } from '../../agent/errors.js';
import type { CommandRunner } from '../../agent/runner.js';
import type { IpSet } from '../../core/plan/model.js';

const hashNet = (name: string, count: number): IpSet => ({
  name,
  type: 'hash:net',
  members: Array.from({ length: count }, (_, index) => `198.51.${Math.floor(index / 256)}.${index % 256}/32`),
});

/** A runner recording every ipset restore's input; `fail` names a set whose restore fails. */
function recordingRunner(fail?: string): { runner: CommandRunner; inputs: string[] } {
  const inputs: string[] = [];
  const runner: CommandRunner = async (_command, _args, input = '') => {
    inputs.push(input);
    return fail !== undefined && input.includes(`create ${fail} `)
      ? { code: 1, stdout: '', stderr: `ipset v7.17: Set ${fail} cannot be created\n` }
      : { code: 0, stdout: '', stderr: '' };
  };
  return { runner, inputs };
}

describe('EarlySets', () => {
  it('creates only the hash:net sets the kernel lacks, each once, and reports them with their sizes', async () => {
    const { runner, inputs } = recordingRunner();
    const early = new EarlySets(runner, new Set(['dyneg-s-known']));
    early.onSet(hashNet('dyneg-s-new', 2));
    early.onSet(hashNet('dyneg-s-new', 2));
    early.onSet(hashNet('dyneg-s-known', 3));
    early.onSet({ name: 'dyneg-l-list', type: 'list:set', members: ['dyneg-s-new'] });
    expect(await early.done()).toEqual(new Map([['dyneg-s-new', 2]]));
    expect(early.created).toEqual(['dyneg-s-new']);
    expect(inputs).toEqual([
      'create dyneg-s-new hash:net family inet\nadd dyneg-s-new 198.51.0.0/32\nadd dyneg-s-new 198.51.0.1/32\n',
    ]);
    expect(early.lines).toHaveLength(3);
  });

  it('starts a restore as soon as a batch is full, while the plan goes on', async () => {
    const { runner, inputs } = recordingRunner();
    const early = new EarlySets(runner, new Set());
    early.onSet(hashNet('dyneg-s-big', 20_000));
    expect(inputs).toHaveLength(1);
    early.onSet(hashNet('dyneg-s-small', 1));
    expect(inputs).toHaveLength(1);
    await early.done();
    expect(inputs).toHaveLength(2);
  });

  it('calls onFirstRestore once, as the first restore starts and before it is run', async () => {
    const events: string[] = [];
    const runner: CommandRunner = async () => {
      events.push('restore');
      return { code: 0, stdout: '', stderr: '' };
    };
    const early = new EarlySets(runner, new Set(), () => events.push('first'));
    early.onSet(hashNet('dyneg-s-big', 20_000));
    expect(events).toEqual(['first', 'restore']);
    early.onSet(hashNet('dyneg-s-small', 1));
    await early.done();
    expect(events).toEqual(['first', 'restore', 'restore']);
  });

  it('throws the failed restore as an ApplyError, still naming every set it handed over', async () => {
    const { runner } = recordingRunner('dyneg-s-bad');
    const early = new EarlySets(runner, new Set());
    early.onSet(hashNet('dyneg-s-bad', 1));
    await expect(early.done()).rejects.toThrow(ApplyError);
    expect(early.created).toEqual(['dyneg-s-bad']);
  });
});
