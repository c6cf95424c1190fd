// DynamoDB Local, as local mode starts it: the JVM never outlives the Node process that started it,
// even one killed with SIGKILL (nothing in Node can clean up then).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const PROJECT = resolve(import.meta.dirname, '../..');

const isAlive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
};

const kill = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
};

describe('startDynamoDbLocal', () => {
  it('ends DynamoDB Local when the process that started it is killed with SIGKILL', async () => {
    const owner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { startDynamoDbLocal } = await import('./local/dynamodb-local.ts');
         const ddb = await startDynamoDbLocal();
         console.log('pid', ddb.process.pid);
         setInterval(() => undefined, 1000);`,
      ],
      { cwd: PROJECT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let javaPid = 0;
    try {
      javaPid = await new Promise<number>((done, fail) => {
        let output = '';
        owner.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const pid = /pid (\d+)/.exec(output)?.[1];
          if (pid) done(Number(pid));
        });
        owner.once('exit', (code) => fail(new Error(`exited with ${code}: ${output}`)));
      });
      expect(readFileSync(`/proc/${javaPid}/cmdline`, 'utf8')).toContain('DynamoDBLocal.jar');

      kill(owner.pid ?? 0, 'SIGKILL');

      const deadline = Date.now() + 10_000;
      while (isAlive(javaPid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
      expect(isAlive(javaPid)).toBe(false);
    } finally {
      kill(owner.pid ?? 0, 'SIGKILL');
      if (javaPid) kill(javaPid, 'SIGKILL');
    }
  });
});
