// The SSM commander against a mocked SSM: throttling retried with its backoff (6 attempts by
// default), anything else thrown at once.
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { exponentialBackoff } from '../../../core/retry.js';
import { SsmCommander, THROTTLING_BACKOFF } from '../../../lambdas/fanout/ssm-commander.js';

const ssm = mockClient(SSMClient);
const throttled = (): Error => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
let waits: number[];

function commander(): SsmCommander {
  return new SsmCommander({
    client: new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    documentName: 'egress-sync',
    tagKey: 'egress:cell',
    tagValue: 'true',
    backoff: exponentialBackoff(THROTTLING_BACKOFF, () => 1),
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
}

beforeEach(() => {
  ssm.reset();
  waits = [];
});

describe('SsmCommander', () => {
  it('gives up on throttling after six attempts, waiting longer each time', async () => {
    ssm.on(SendCommandCommand).rejects(throttled());
    await expect(commander().syncCells(4)).rejects.toThrow('Rate exceeded');
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(6);
    expect(waits).toEqual([160, 320, 640, 1000, 1000]);
  });

  it('sends each attempt the same request, and stops at the first success', async () => {
    ssm.on(SendCommandCommand).rejectsOnce(throttled()).resolves({});
    await commander().syncCells(4);
    const inputs = ssm.commandCalls(SendCommandCommand).map((call) => call.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[1]).toEqual(inputs[0]);
    expect(inputs[0]?.Parameters).toEqual({ MinVersion: ['4'] });
  });

  it('leaves out an instance SSM refuses (terminated or unregistered) and tells every other one', async () => {
    const cells = Array.from({ length: 71 }, (_, index) => `i-${String(index).padStart(17, '0')}`);
    const dead = cells[7] ?? '';
    ssm.on(SendCommandCommand).callsFake((input: { InstanceIds?: string[] }) => {
      if (input.InstanceIds?.includes(dead)) {
        throw Object.assign(new Error('Instances [[i-dead]] not in a valid state'), { name: 'InvalidInstanceId' });
      }
      return {};
    });
    await commander().syncCells(4, cells);
    const told = ssm
      .commandCalls(SendCommandCommand)
      .filter((call) => !(call.args[0].input.InstanceIds ?? []).includes(dead))
      .flatMap((call) => call.args[0].input.InstanceIds ?? []);
    expect(told.sort()).toEqual(cells.filter((cell) => cell !== dead).sort());
    // Split down to the refused instance: a few calls, not one per cell.
    expect(ssm.commandCalls(SendCommandCommand).length).toBeLessThan(20);
  });

  it('tells the later chunks when an earlier one fails otherwise, then throws that failure', async () => {
    const cells = Array.from({ length: 60 }, (_, index) => `i-${String(index).padStart(17, '0')}`);
    ssm
      .on(SendCommandCommand)
      .rejectsOnce(Object.assign(new Error('Access denied'), { name: 'AccessDeniedException' }))
      .resolves({});
    await expect(commander().syncCells(4, cells)).rejects.toThrow('Access denied');
    expect(ssm.commandCalls(SendCommandCommand).map((call) => call.args[0].input.InstanceIds?.length)).toEqual([
      50, 10,
    ]);
  });

  it('throws any other error at once', async () => {
    ssm.on(SendCommandCommand).rejects(Object.assign(new Error('no such document'), { name: 'InvalidDocument' }));
    await expect(commander().syncCells(4)).rejects.toThrow('no such document');
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('waits as the store helper did: half the ceiling to the ceiling, 160 ms doubling to 1 s', () => {
    const low = exponentialBackoff(THROTTLING_BACKOFF, () => 0);
    const high = exponentialBackoff(THROTTLING_BACKOFF, () => 1);
    expect([1, 2, 3, 4, 5].map((attempt) => [low(attempt), high(attempt)])).toEqual([
      [80, 160],
      [160, 320],
      [320, 640],
      [500, 1000],
      [500, 1000],
    ]);
  });
});
