// `npm start` as a process of its own (bin/local.ts, in memory, on free ports, in a throwaway state
// folder), for tests of programs that find and use a running local mode, such as egressctl.
import { type ChildProcess, spawn } from 'node:child_process';

export interface LocalProcess {
  readonly url: string;
  readonly dynamodbEndpoint: string;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startLocalProcess(stateDir: string, timeoutMs = 100_000): Promise<LocalProcess> {
  const env = { ...process.env, PORT: '0', EGRESS_LOCAL_DIR: stateDir };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts', '--in-memory'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const [url, dynamodbEndpoint] = await new Promise<[string, string]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start printed no API line:\n${output}`)), timeoutMs);
      const check = (): void => {
        const api = /API:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        const dynamodb = /DynamoDB:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        if (api && dynamodb) {
          clearTimeout(timer);
          resolve([api, dynamodb]);
        }
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code}:\n${output}`));
      });
    });
    return { url, dynamodbEndpoint, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
