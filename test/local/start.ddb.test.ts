// `npm start` as a user runs it (the real npm, Node and DynamoDB Local, in memory, in a throwaway
// folder): signals to npm or to its process group leave no process behind, a dead npm is noticed, a
// second start in the same folder refuses and leaves the first alone, and a dead database ends the
// server with an error rather than 500s.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLocalIssuer } from '../../local/api/issuer.js';

const PROJECT = resolve(import.meta.dirname, '../..');
const API = '/networking/v1/external';

interface Started {
  readonly npm: ChildProcess;
  readonly url: string;
  readonly stateDir: string;
  /** Every process of the run: npm's group, their descendants, and DynamoDB Local. */
  readonly pids: number[];
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

const running: Started[] = [];

function procStat(pid: number): { state: string; ppid: number; pgid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', ppid: Number(ppid), pgid: Number(pgid) };
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (orphans here may be reparented to a pid 1 that does not reap). */
const isAlive = (pid: number): boolean => {
  const state = procStat(pid)?.state;
  return state !== undefined && state !== 'Z' && state !== 'X';
};

/** The processes in the group led by `leader` and all their descendants (whatever their group). */
function processTree(leader: number): number[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => ({ pid: Number(name), ...procStat(Number(name)) }));
  const found = new Set(all.filter((p) => p.pgid === leader || p.pid === leader).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (p.ppid !== undefined && found.has(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found].filter(isAlive);
}

function npmStart(stateDir: string): { npm: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // Its own process group, as a terminal or a service manager would start it.
  const npm = spawn('npm', ['start', '--', '--in-memory'], {
    cwd: PROJECT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EGRESS_LOCAL_DIR: stateDir, PORT: '0', EGRESS_DYNAMODB_PORT: '0' },
  });
  let output = '';
  npm.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  npm.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => npm.once('exit', (code) => done(code)));
  return { npm, output: () => output, exited };
}

async function startLocal(stateDir = mkdtempSync(join(tmpdir(), 'egress-start-'))): Promise<Started> {
  const { npm, output, exited } = npmStart(stateDir);
  const deadline = Date.now() + 45_000;
  let url: string | undefined;
  while (!url) {
    url = /API: +(http:\/\/127\.0\.0\.1:\d+)/.exec(output())?.[1];
    if (npm.exitCode !== null) throw new Error(`npm start ended with ${npm.exitCode}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`npm start did not get ready:\n${output()}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  const owner = JSON.parse(readFileSync(join(stateDir, 'local-mode.pid'), 'utf8')) as {
    pid: number;
    dynamodbLocal: { pid: number };
  };
  const pids = [...new Set([...processTree(npm.pid ?? 0), owner.pid, owner.dynamodbLocal.pid])];
  const started: Started = { npm, url, stateDir, pids, output, exited };
  running.push(started);
  return started;
}

async function waitUntilGone(pids: readonly number[], timeoutMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(isAlive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((done) => setTimeout(done, 100));
  }
}

const describeProcess = (pid: number): string => {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 120)}`;
  } catch {
    return String(pid);
  }
};

const kill = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
};

afterEach(() => {
  // Whatever a test left, by pid only: npm's group, then each process the test recorded.
  for (const started of running.splice(0)) {
    if (started.npm.pid) kill(-started.npm.pid, 'SIGKILL');
    for (const pid of started.pids.filter(isAlive)) kill(pid, 'SIGKILL');
    rmSync(started.stateDir, { recursive: true, force: true });
  }
});

/** The exit code, or 'still running' after timeoutMs. */
const exitWithin = (started: { exited: Promise<number | null> }, timeoutMs = 20_000) =>
  Promise.race([started.exited, new Promise<string>((done) => setTimeout(() => done('still running'), timeoutMs))]);

const ownerRecord = (stateDir: string) =>
  JSON.parse(readFileSync(join(stateDir, 'local-mode.pid'), 'utf8')) as { pid: number; dynamodbLocal: { pid: number } };

describe('npm start', () => {
  it('refuses a second start in the same folder, naming the first, which keeps serving; SIGTERM to npm stops everything', async () => {
    const first = await startLocal();
    expect(first.pids.length).toBeGreaterThanOrEqual(3); // npm, node, DynamoDB Local (and esbuild)
    const { pid } = ownerRecord(first.stateDir);

    const second = npmStart(first.stateDir);
    running.push({ ...first, npm: second.npm, pids: [] });
    expect(await exitWithin(second)).toBe(1);
    expect(second.output()).toContain(`already running in ${first.stateDir} (pid ${pid}, API ${first.url}${API})`);
    expect(second.output()).not.toContain('ending DynamoDB Local');
    expect(first.pids.filter(isAlive)).toEqual(first.pids);
    const token = await (await openLocalIssuer(first.stateDir)).sign();
    const response = await fetch(`${first.url}${API}/destinations`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);

    // As a service manager or container runtime stops it.
    kill(first.npm.pid ?? 0, 'SIGTERM');

    expect((await waitUntilGone(first.pids)).map(describeProcess)).toEqual([]);
    expect(first.output()).toContain('SIGTERM: stopping');
  });

  it('stops everything on SIGTERM to its process group', async () => {
    const local = await startLocal();

    kill(-(local.npm.pid ?? 0), 'SIGTERM');

    expect((await waitUntilGone(local.pids)).map(describeProcess)).toEqual([]);
  });

  it('stops when npm dies without a word (SIGKILL): the server notices it was orphaned', async () => {
    const local = await startLocal();

    kill(local.npm.pid ?? 0, 'SIGKILL');

    expect((await waitUntilGone(local.pids)).map(describeProcess)).toEqual([]);
    expect(local.output()).toMatch(/parent process \d+ ended: stopping/);
  });

  it('fails with a clear error when its DynamoDB Local dies', async () => {
    const local = await startLocal();
    const { dynamodbLocal } = ownerRecord(local.stateDir);

    kill(dynamodbLocal.pid, 'SIGKILL');

    expect(await exitWithin(local)).toBe(1);
    expect(local.output()).toContain(`error: DynamoDB Local (pid ${dynamodbLocal.pid}) was killed by SIGKILL`);
    expect((await waitUntilGone(local.pids)).map(describeProcess)).toEqual([]);
  });
});
