// `npm start` as a user runs it: a real process, real DynamoDB Local, signals, a crash and a restart.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const stateDir = mkdtempSync(join(tmpdir(), 'egress-start-'));
const started: ChildProcess[] = [];

function isAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

async function startLocal(
  args: string[] = [],
): Promise<{ child: ChildProcess; url: string; javaPid: number; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts', ...args], {
    env: { ...process.env, PORT: '0', EGRESS_LOCAL_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /API:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return { child, url, javaPid: dynamodbLocalPid(), output };
}

/** DynamoDB Local's pid, as the running local mode recorded it in its pid file (local/pid-file.ts). */
function dynamodbLocalPid(): number {
  const record = JSON.parse(readFileSync(join(stateDir, 'local-mode.pid'), 'utf8')) as {
    dynamodbLocal?: { pid?: number };
  };
  const pid = record.dynamodbLocal?.pid;
  if (pid === undefined) throw new Error('local-mode.pid names no DynamoDB Local');
  return pid;
}

function token(): string {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bin/token.ts'], {
    env: { ...process.env, EGRESS_LOCAL_DIR: stateDir },
    encoding: 'utf8',
  });
  return out.trim().split('\n').at(-1) ?? '';
}

async function until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  try {
    process.kill(dynamodbLocalPid(), 'SIGKILL');
  } catch {
    // Nothing left behind.
  }
  rmSync(stateDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves the API with a token from npm run token, keeps data across a crash, and stops cleanly', async () => {
    const first = await startLocal();
    // Start-up says what it is doing, with the time so far, before the banner.
    const beforeBanner = first.output.slice(0, first.output.indexOf('API:'));
    for (const step of [/bundling the cell agent/, /DynamoDB Local up at http:/, /table \S+ ready/, /API listening/]) {
      expect(beforeBanner).toMatch(new RegExp(`^\\[ *\\d+\\.\\d s\\] .*${step.source}`, 'm'));
    }
    const headers = { authorization: `Bearer ${token()}` };
    const created = await fetch(`${first.url}/networking/v1/external/destinations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        destinations: [{ name: 'kept', ips: [{ start: '1.2.3.4', end: '1.2.3.4' }], protocol: 'icmp' }],
      }),
    });
    expect(created.status).toBe(201);

    // A crash: the JVM goes with its parent (the kernel's parent-death signal), the data stays.
    first.child.kill('SIGKILL');
    await exitOf(first.child);
    await until(() => !isAlive(first.javaPid), 'DynamoDB Local to end with the killed server');

    const second = await startLocal();
    const listed = await fetch(`${second.url}/networking/v1/external/destinations?name=kept`, { headers });
    expect(await listed.json()).toMatchObject({ total_destinations: 1 });

    second.child.kill('SIGTERM');
    expect(await exitOf(second.child)).toBe(0);
    expect(isAlive(second.javaPid)).toBe(false);
  });

  it('keeps nothing with --in-memory, its cells included, and refuses unknown flags', async () => {
    // What a cell of a killed in-memory run recorded: its versions belong to a table that is gone.
    const leftOver = join(stateDir, 'in-memory-cells', 'cell-1');
    mkdirSync(leftOver, { recursive: true });
    writeFileSync(join(leftOver, 'applied.json'), '{"version": 241, "sha256": "x", "appliedAt": "then"}\n');
    const run = await startLocal(['--in-memory']);
    expect(existsSync(leftOver)).toBe(false);
    const listed = await fetch(`${run.url}/networking/v1/external/destinations`, {
      headers: { authorization: `Bearer ${token()}` },
    });
    expect(await listed.json()).toEqual({ total_destinations: 0, destinations: [] });
    mkdirSync(leftOver, { recursive: true });
    run.child.kill('SIGINT');
    expect(await exitOf(run.child)).toBe(0);
    expect(isAlive(run.javaPid)).toBe(false);
    expect(existsSync(join(stateDir, 'in-memory-cells'))).toBe(false);
    // A persistent run's cells keep their state in cells/, which an in-memory run never touches.
    expect(existsSync(join(stateDir, 'cells'))).toBe(false);
    await expect(startLocal(['--bogus'])).rejects.toThrow(/unknown argument/);
  });

  it('prints a token carrying only the requested scope', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bin/token.ts', '--scope', 'openid'], {
      env: { ...process.env, EGRESS_LOCAL_DIR: stateDir },
      encoding: 'utf8',
    });
    const payload = JSON.parse(Buffer.from(out.trim().split('.')[1] ?? '', 'base64url').toString()) as {
      scope: string[];
    };
    expect(payload.scope).toEqual(['openid']);
  });
});
