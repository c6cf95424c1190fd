// The request files of the resident agent: what a request may say, how it is taken (once, and
// nothing that is not a small regular file), how a result is left, what is cleaned up.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  parseRequest,
  prepareRequestsDir,
  removeStale,
  requestLine,
  STALE_RESULT_MS,
  takeRequests,
  writeResult,
} from '../../../agent/serve/requests.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'serve-requests-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('parseRequest', () => {
  it('reads "<min-version> <cheap|full> [reject|allow]", with or without its newline', () => {
    expect(parseRequest('0 cheap\n')).toEqual({ minVersion: 0, verify: 'cheap' });
    expect(parseRequest('123456789012345 full')).toEqual({ minVersion: 123456789012345, verify: 'full' });
    expect(parseRequest(requestLine({ minVersion: 7, verify: 'full' }))).toEqual({ minVersion: 7, verify: 'full' });
    // The caller's unknown-sources setting, when it names one.
    expect(parseRequest('7 full reject\n')).toEqual({ minVersion: 7, verify: 'full', unknownSources: 'reject' });
    const allow = { minVersion: 0, verify: 'cheap', unknownSources: 'allow' } as const;
    expect(parseRequest(requestLine(allow))).toEqual(allow);
  });

  it.each([
    '',
    '0',
    'cheap',
    '0 cheap extra\n',
    '0 cheap open',
    '0 cheap reject allow',
    '-1 cheap',
    '1234567890123456 cheap',
    '0 thorough',
    '0  cheap',
    '0 cheap\n\n',
    ' 0 cheap',
  ])('refuses %j, quoting it', (text) => {
    expect(parseRequest(text)).toBe(
      `a request is "<min-version> <cheap|full> [reject|allow]", got ${JSON.stringify(text)}`,
    );
  });
});

describe('prepareRequestsDir', () => {
  it('creates the folder 0700, and takes an existing one of its own', async () => {
    const requests = join(dir, 'requests');
    await prepareRequestsDir(requests);
    expect(execFileSync('stat', ['-c', '%a', requests], { encoding: 'utf8' }).trim()).toBe('700');
    await prepareRequestsDir(requests);
  });

  it('removes what an agent before it took and never answered (nobody will), and nothing else', async () => {
    const requests = join(dir, 'requests');
    mkdirSync(requests, { mode: 0o700 });
    writeFileSync(join(requests, 'r-1.taken'), '0 cheap\n');
    writeFileSync(join(requests, 'r-2.request'), '0 cheap\n');
    writeFileSync(join(requests, 'r-3.code'), '0\n');
    await prepareRequestsDir(requests);
    expect(readdirSync(requests).sort()).toEqual(['r-2.request', 'r-3.code']);
  });

  it('refuses a folder others may write to, and a file in its place', async () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(prepareRequestsDir(open)).rejects.toThrow(/writable by others \(mode 777\)/);
    writeFileSync(join(dir, 'file'), '');
    await expect(prepareRequestsDir(join(dir, 'file'))).rejects.toThrow(/EEXIST|not a folder/);
  });
});

describe('takeRequests', () => {
  it('takes every request once, oldest name first, and leaves other files alone', async () => {
    writeFileSync(join(dir, 'b-2.request'), '5 full\n');
    writeFileSync(join(dir, 'a-1.request'), '0 cheap\n');
    writeFileSync(join(dir, '.c.tmp'), '0 cheap\n');
    expect(await takeRequests(dir)).toEqual([
      { id: 'a-1', request: { minVersion: 0, verify: 'cheap' } },
      { id: 'b-2', request: { minVersion: 5, verify: 'full' } },
    ]);
    // Each taken request stays as <id>.taken until it is answered (its client's sign that it was taken).
    expect(readdirSync(dir).sort()).toEqual(['.c.tmp', 'a-1.taken', 'b-2.taken']);
    expect(await takeRequests(dir)).toEqual([]);
    await writeResult(dir, 'a-1', { code: 0, stdout: '', stderr: '' });
    expect(readdirSync(dir).sort()).toEqual(['.c.tmp', 'a-1.code', 'a-1.err', 'a-1.out', 'b-2.taken']);
  });

  it('answers a bad request with its problem; a symbolic link, a FIFO or a large file is not a request', async () => {
    writeFileSync(join(dir, 'bad.request'), 'please\n');
    writeFileSync(join(dir, 'large.request'), `0 cheap${' '.repeat(100)}`);
    writeFileSync(join(dir, 'target'), '0 cheap\n');
    symlinkSync(join(dir, 'target'), join(dir, 'link.request'));
    execFileSync('mkfifo', [join(dir, 'fifo.request')]);
    mkdirSync(join(dir, 'folder.request'));
    expect(await takeRequests(dir)).toEqual([
      { id: 'bad', problem: 'a request is "<min-version> <cheap|full> [reject|allow]", got "please\\n"' },
      { id: 'fifo', problem: 'a request must be a regular file' },
      { id: 'folder', problem: 'a request must be a regular file' },
      { id: 'large', problem: 'a request is at most 64 bytes' },
      { id: 'link', problem: 'a request must be a regular file' },
    ]);
    for (const id of ['bad', 'fifo', 'folder', 'large', 'link']) {
      await writeResult(dir, id, { code: 2, stdout: '', stderr: '' });
    }
    expect(readdirSync(dir).filter((name) => !/[.](code|err|out)$/.test(name))).toEqual(['target']);
  });

  it('drops a request whose name no client makes, without a result (its name is not safe to build on)', async () => {
    writeFileSync(join(dir, 'a b.request'), '0 cheap\n');
    writeFileSync(join(dir, `${'x'.repeat(65)}.request`), '0 cheap\n');
    mkdirSync(join(dir, 'a folder.request'));
    expect(await takeRequests(dir)).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('writeResult', () => {
  it('leaves the output, then the exit code, each whole, readable by root only', async () => {
    await writeResult(dir, 'r-1', { code: 3, stdout: 'out\n', stderr: 'error: x\n' });
    expect(readdirSync(dir).sort()).toEqual(['r-1.code', 'r-1.err', 'r-1.out']);
    expect(readFileSync(join(dir, 'r-1.code'), 'utf8')).toBe('3\n');
    expect(readFileSync(join(dir, 'r-1.out'), 'utf8')).toBe('out\n');
    expect(readFileSync(join(dir, 'r-1.err'), 'utf8')).toBe('error: x\n');
    expect(execFileSync('stat', ['-c', '%a', join(dir, 'r-1.code')], { encoding: 'utf8' }).trim()).toBe('600');
  });

  it('refuses an id that is not one', async () => {
    await expect(writeResult(dir, '../x', { code: 0, stdout: '', stderr: '' })).rejects.toThrow(/not a request id/);
    expect(existsSync(join(dir, '..', 'x.code'))).toBe(false);
  });
});

describe('removeStale', () => {
  it('removes what is older than the limit and keeps the rest', async () => {
    writeFileSync(join(dir, 'old.code'), '0\n');
    writeFileSync(join(dir, 'new.code'), '0\n');
    const old = new Date(Date.now() - STALE_RESULT_MS - 1000);
    utimesSync(join(dir, 'old.code'), old, old);
    await removeStale(dir);
    expect(readdirSync(dir)).toEqual(['new.code']);
  });
});
