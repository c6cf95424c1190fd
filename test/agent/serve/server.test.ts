// The resident agent's loop on a real folder, with the sync in its place: requests waiting together
// get one sync, bad ones exit 2 without one, a sync that throws answers exit 3, and the loop ends
// when asked.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestResult, SyncRequest } from '../../../agent/serve/requests.js';
import { serveRequests } from '../../../agent/serve/server.js';

let dir: string;
let stop: AbortController;
let served: Promise<void> | undefined;
beforeEach(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'serve-loop-')), 'requests');
  stop = new AbortController();
});
afterEach(async () => {
  stop.abort();
  await served;
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

/** Waits until `<id>.code` is there and returns the result it completes. */
async function resultOf(id: string): Promise<RequestResult> {
  const deadline = Date.now() + 10_000;
  while (!readdirSync(dir).includes(`${id}.code`)) {
    if (Date.now() > deadline) throw new Error(`no result for ${id}: ${readdirSync(dir).join(', ')}`);
    await new Promise((done) => setTimeout(done, 10));
  }
  const read = (suffix: string) => readFileSync(join(dir, `${id}${suffix}`), 'utf8');
  return { code: Number(read('.code')), stdout: read('.out'), stderr: read('.err') };
}

/** Leaves a request as clients do: written whole (a rename), since the loop may look at any moment. */
function leave(id: string, text: string): void {
  writeFileSync(join(dir, `.${id}.tmp`), text);
  renameSync(join(dir, `.${id}.tmp`), join(dir, `${id}.request`));
}

function serve(sync: (requests: readonly SyncRequest[]) => Promise<readonly RequestResult[]>, logged: string[] = []) {
  served = serveRequests({ dir, signal: stop.signal, log: (line) => logged.push(line), sync, rescanMs: 50 });
}

describe('serveRequests', () => {
  it('answers each request with its own result from the sync that took it', async () => {
    const calls: SyncRequest[][] = [];
    // Written before the loop starts: served at once.
    serve(async (requests) => {
      calls.push([...requests]);
      return requests.map((request, index) => ({
        code: 0,
        stdout: `synced ${index}\n`,
        stderr: `${request.verify}\n`,
      }));
    });
    await new Promise((done) => setTimeout(done, 100));
    leave('a', '1 cheap\n');
    leave('b', '2 full\n');
    expect(await resultOf('a')).toEqual({ code: 0, stdout: 'synced 0\n', stderr: 'cheap\n' });
    expect(await resultOf('b')).toEqual({ code: 0, stdout: 'synced 1\n', stderr: 'full\n' });
    expect(calls.flat()).toEqual([
      { minVersion: 1, verify: 'cheap' },
      { minVersion: 2, verify: 'full' },
    ]);
    expect(calls.length).toBeLessThanOrEqual(2);
  });

  it('serves what was waiting when it started, in one sync', async () => {
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'x.request'), '0 cheap\n');
    writeFileSync(join(dir, 'y.request'), '0 cheap\n');
    let syncs = 0;
    serve(async (requests) => {
      syncs += 1;
      return requests.map(() => ({ code: 0, stdout: '', stderr: '' }));
    });
    expect((await resultOf('x')).code).toBe(0);
    expect((await resultOf('y')).code).toBe(0);
    expect(syncs).toBe(1);
  });

  it('answers a bad request with exit 2 and no sync', async () => {
    let syncs = 0;
    serve(async (requests) => {
      syncs += 1;
      return requests.map(() => ({ code: 0, stdout: '', stderr: '' }));
    });
    await new Promise((done) => setTimeout(done, 100));
    leave('bad', 'sync please\n');
    expect(await resultOf('bad')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: bad request: a request is "<min-version> <cheap|full> [reject|allow]", got "sync please\\n"\n',
    });
    expect(syncs).toBe(0);
  });

  it('answers exit 3 when the sync throws, and keeps serving', async () => {
    let calls = 0;
    serve(async (requests) => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      return requests.map(() => ({ code: 0, stdout: 'ok\n', stderr: '' }));
    });
    await new Promise((done) => setTimeout(done, 100));
    leave('first', '0 cheap\n');
    expect(await resultOf('first')).toEqual({ code: 3, stdout: '', stderr: 'error: unexpected failure: boom\n' });
    leave('second', '0 cheap\n');
    expect(await resultOf('second')).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('ends when aborted', async () => {
    serve(async () => []);
    await new Promise((done) => setTimeout(done, 100));
    stop.abort();
    await expect(served).resolves.toBeUndefined();
  });
});
