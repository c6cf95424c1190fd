// Input files: a regular file of bounded size, or a ValidationError; never a hang.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_INPUT_BYTES, readInputFile } from '../../../agent/source/read-file.js';
import { ValidationError } from '../../../core/domain/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-read-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fifo = (name: string): string => {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
};

describe('readInputFile', () => {
  it('reads a regular file as UTF-8', async () => {
    const path = join(dir, 'plain.json');
    writeFileSync(path, '{"é": "雲"}');
    expect(await readInputFile('--x', path)).toBe('{"é": "雲"}');
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const path = fifo('pipe.json');
    const started = Date.now();
    const read = readInputFile('--containers', path);
    await expect(read).rejects.toThrow(ValidationError);
    await expect(read).rejects.toThrow(`--containers: ${JSON.stringify(path)} is a FIFO, not a regular file`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['a directory', () => dir],
    ['a character device', () => '/dev/null'],
  ])('refuses %s', async (kind, path) => {
    await expect(readInputFile('--policies', path())).rejects.toThrow(`is ${kind}, not a regular file`);
  });

  it('names a file it cannot open by its error code', async () => {
    await expect(readInputFile('--policies', join(dir, 'missing.json'))).rejects.toThrow(
      /^--policies: cannot read ".*missing\.json": ENOENT$/,
    );
  });

  it('reads a file of exactly the limit and refuses one byte more', async () => {
    const path = join(dir, 'sized.json');
    writeFileSync(path, 'x'.repeat(100));
    expect(await readInputFile('--x', path, 100)).toHaveLength(100);
    await expect(readInputFile('--x', path, 99)).rejects.toThrow('is larger than 99 bytes, the most an input may have');
  });

  it('stops reading at the limit when the file holds more than fstat said', async () => {
    // procfs files report size 0 and then produce their content, as a file growing after fstat would.
    await expect(readInputFile('--x', '/proc/self/status', 10)).rejects.toThrow('is larger than 10 bytes');
    expect(await readInputFile('--x', '/proc/self/status')).toMatch(/^Name:/);
  });

  it('grows its buffer when the file holds megabytes more than fstat said', async () => {
    // /proc/kallsyms also reports size 0, and holds several MB: read past the first buffer, in place.
    const expected = readFileSync('/proc/kallsyms', 'utf8');
    expect(expected.length).toBeGreaterThan(3 * 1024 * 1024);
    expect(await readInputFile('--x', '/proc/kallsyms')).toBe(expected);
  });

  it(`refuses a file over ${MAX_INPUT_BYTES} bytes without reading it`, async () => {
    const path = join(dir, 'huge.json');
    writeFileSync(path, '');
    truncateSync(path, MAX_INPUT_BYTES + 1); // sparse: no disk used, nothing to read
    await expect(readInputFile('--containers', path)).rejects.toThrow(
      `is larger than ${MAX_INPUT_BYTES} bytes, the most an input may have`,
    );
  });

  it('escapes control characters of the path in the message', async () => {
    await expect(readInputFile('--x', join(dir, 'a\u001b[2Jb'))).rejects.toThrow(/a\\u001b\[2Jb": ENOENT/);
  });
});
