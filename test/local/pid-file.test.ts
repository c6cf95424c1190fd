// Who owns a local-mode folder: a live owner is refused, never ended; a dead one's DynamoDB Local is.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimPidFile, processIdentity, runningInstance } from '../../local/pid-file.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'egress-pid-'));
  dirs.push(dir);
  return dir;
}

/** A process that looks like DynamoDB Local to /proc/<pid>/cmdline. */
async function fakeDynamoDbLocal(): Promise<ChildProcess> {
  const child = spawn('bash', ['-c', 'exec -a DynamoDBLocal.jar sleep 30'], { stdio: 'ignore' });
  children.push(child);
  const deadline = Date.now() + 5_000;
  // Until the exec is done: bash's own command line names the jar too, and while exec replaces it
  // /proc/<pid>/cmdline may read empty, which the claim would rightly not take for DynamoDB Local.
  const execDone = (): boolean =>
    readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep' &&
    readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes('DynamoDBLocal.jar');
  while (!execDone()) {
    if (Date.now() > deadline) throw new Error('fake DynamoDB Local did not start');
    await new Promise((done) => setTimeout(done, 20));
  }
  return child;
}

const exited = (child: ChildProcess): Promise<unknown> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((done) => child.once('exit', done));

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('claimPidFile', () => {
  it('claims a free folder, records the URL and DynamoDB Local, and gives it up', () => {
    const dir = folder();
    const claim = claimPidFile(dir);
    if (!claim.ok) throw new Error('not claimed');

    claim.owner.record({ url: 'http://127.0.0.1:8080', dynamodbLocalPid: process.pid });
    const record = JSON.parse(readFileSync(join(dir, 'local-mode.pid'), 'utf8'));
    expect(record).toEqual({
      ...processIdentity(process.pid),
      url: 'http://127.0.0.1:8080',
      dynamodbLocal: processIdentity(process.pid),
    });

    claim.owner.release();
    expect(existsSync(join(dir, 'local-mode.pid'))).toBe(false);
  });

  it('refuses while a live owner holds the folder, naming it, and ends nothing', async () => {
    const dir = folder();
    const owner = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(owner);
    const database = await fakeDynamoDbLocal();
    const record = {
      ...processIdentity(owner.pid ?? 0),
      url: 'http://127.0.0.1:8181',
      dynamodbLocal: processIdentity(database.pid ?? 0),
    };
    writeFileSync(join(dir, 'local-mode.pid'), JSON.stringify(record));

    expect(claimPidFile(dir)).toEqual({ ok: false, running: { pid: owner.pid, url: 'http://127.0.0.1:8181' } });
    expect(processIdentity(database.pid ?? 0)).toBeDefined();
    expect(JSON.parse(readFileSync(join(dir, 'local-mode.pid'), 'utf8'))).toEqual(record);
  });

  it('takes over from a dead owner and ends the DynamoDB Local it left behind', async () => {
    const dir = folder();
    const database = await fakeDynamoDbLocal();
    // A pid the system gave to another process since: same pid, another start time.
    const deadOwner = { pid: process.pid, startTime: '1' };
    writeFileSync(
      join(dir, 'local-mode.pid'),
      JSON.stringify({ ...deadOwner, dynamodbLocal: processIdentity(database.pid ?? 0) }),
    );

    const claim = claimPidFile(dir);

    expect(claim.ok).toBe(true);
    await exited(database);
    expect(database.signalCode).toBe('SIGKILL');
    expect(JSON.parse(readFileSync(join(dir, 'local-mode.pid'), 'utf8'))).toEqual(processIdentity(process.pid));
  });

  it('ends the DynamoDB Local named by an earlier version’s pid file', async () => {
    const dir = folder();
    const database = await fakeDynamoDbLocal();
    writeFileSync(join(dir, 'dynamodb-local.pid'), String(database.pid));

    expect(claimPidFile(dir).ok).toBe(true);
    await exited(database);
    expect(database.signalCode).toBe('SIGKILL');
    expect(existsSync(join(dir, 'dynamodb-local.pid'))).toBe(false);
  });
});

describe('runningInstance (how egressctl finds local mode)', () => {
  it('names the live owner and its URL once recorded, and nothing after it lets go', () => {
    const dir = folder();
    expect(runningInstance(dir)).toBeUndefined();
    const claim = claimPidFile(dir);
    if (!claim.ok) throw new Error('not claimed');
    expect(runningInstance(dir)).toEqual({ pid: process.pid });
    claim.owner.record({ url: 'http://127.0.0.1:8123' });
    expect(runningInstance(dir)).toEqual({ pid: process.pid, url: 'http://127.0.0.1:8123' });
    claim.owner.release();
    expect(runningInstance(dir)).toBeUndefined();
  });

  it("takes a crashed run's file for none", () => {
    const dir = folder();
    writeFileSync(
      join(dir, 'local-mode.pid'),
      JSON.stringify({ pid: process.pid, startTime: 'not-this-process', url: 'http://127.0.0.1:8123' }),
    );
    expect(runningInstance(dir)).toBeUndefined();
  });
});
