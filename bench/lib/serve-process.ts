// A resident agent (`agent serve`) as a child process, for the cell-sync bench and the serve test:
// started, awaited until it says it serves (its requests folder is ready then), and stopped.
import { type ChildProcess, spawn } from 'node:child_process';

export interface ServeProcess {
  readonly child: ChildProcess;
  /** Its exit code once it exits (null if a signal ended it). */
  readonly exited: Promise<number | null>;
  /** What it printed so far, stdout and stderr together. */
  output(): string;
  /** SIGTERM, then its exit code (null if a signal ended it); at once if it has exited already. */
  stop(): Promise<number | null>;
}

const START_TIMEOUT_MS = 20_000;

/** `node <args>` (args name the agent and `serve` with its flags), once it prints `agent serving`. */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  const collect = (text: string) => {
    output += text;
  };
  child.stdout?.setEncoding('utf8').on('data', collect);
  child.stderr?.setEncoding('utf8').on('data', collect);
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const serve: ServeProcess = {
    child,
    exited,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output.includes('agent serving')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await serve.stop();
      throw new Error(`agent serve did not start: ${output}`);
    }
    await new Promise((done) => setTimeout(done, 20));
  }
  return serve;
}
