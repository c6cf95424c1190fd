// HAProxy's master CLI (`-S <socket>`): one command per connection, its answer read to the end. Only
// `show proc` is used: the master's pid, how often it reloaded (and how many reloads failed), and its
// current and old workers.
import { connect } from 'node:net';

export interface MasterProcess {
  readonly pid: number;
  readonly reloads: number;
  readonly failedReloads: number;
  /** Workers of the current configuration. */
  readonly workers: readonly number[];
  /** Workers of earlier configurations still finishing their connections after a reload. */
  readonly oldWorkers: readonly number[];
}

/** Sends one command and resolves with the whole answer; rejects when the socket cannot be reached. */
export function masterCommand(socket: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const client = connect(socket);
    const timer = setTimeout(
      () => client.destroy(new Error(`master CLI ${socket}: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('connect', () => client.end(`${command}\n`));
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    client.on('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** Parses `show proc` (HAProxy 2.6); undefined when the answer has no master line. */
export function parseShowProc(text: string): MasterProcess | undefined {
  let section: 'master' | 'workers' | 'old' | 'other' = 'master';
  let master: { pid: number; reloads: number; failedReloads: number } | undefined;
  const workers: number[] = [];
  const oldWorkers: number[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '# workers') section = 'workers';
    else if (trimmed === '# old workers') section = 'old';
    else if (trimmed.startsWith('#')) section = trimmed.startsWith('#<PID>') ? section : 'other';
    else {
      const fields = /^(\d+)\s+(master|worker)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?/.exec(trimmed);
      if (fields === null) continue;
      const pid = Number(fields[1]);
      if (fields[2] === 'master') {
        master = { pid, reloads: Number(fields[3]), failedReloads: Number(fields[4] ?? 0) };
      } else if (section === 'workers') workers.push(pid);
      else if (section === 'old') oldWorkers.push(pid);
    }
  }
  return master === undefined ? undefined : { ...master, workers, oldWorkers };
}
