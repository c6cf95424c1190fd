// Every entry point as a user runs it: `--help` and `-h` print the usage with each option and its
// default, exit 0 and start nothing (no state folder, no issuer key, no DynamoDB Local, no namespaces);
// a bad value is refused by name with exit 2.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'egress-help-'));
const stateDir = join(root, 'state');

afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(entry: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bin/${entry}.ts`, ...args], {
    env: { ...process.env, EGRESS_LOCAL_DIR: stateDir, PORT: '0' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.each([
  ['local', 'npm start', ['--in-memory', 'PORT', 'EGRESS_LOCAL_CELLS']],
  ['token', 'npm run --silent token', ['--scope SCOPE', '--ttl SECONDS']],
  ['demo', 'sudo npm run demo', []],
])('bin/%s.ts', (entry, usage, options) => {
  it.each(['--help', '-h'])(
    'prints its usage for %s, one line per option with its default, and starts nothing',
    (flag) => {
      const result = run(entry, [flag]);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(result.stdout.startsWith(`usage: ${usage}`)).toBe(true);
      for (const option of options)
        expect(result.stdout).toMatch(new RegExp(`^ {2}${option} .*\\(default: [^)]+\\)$`, 'm'));
      expect(result.stdout).toMatch(/^ {2}--help, -h +print this help and exit$/m);
      expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
    },
  );

  it('prefers --help to the rest of a command line, even a wrong one', () => {
    expect(run(entry, ['--bogus', '--help'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: /) });
  });

  it('refuses an unknown argument with exit 2, naming it', () => {
    const result = run(entry, ['--bogus']);
    expect(result).toMatchObject({ status: 2, stdout: '' });
    expect(result.stderr).toMatch(/^error: unknown argument\(s\): --bogus \(known: .*--help\)\n$/);
  });
});

describe('value errors name the value and the form expected', () => {
  it('npm run token -- --ttl abc', () => {
    expect(run('token', ['--ttl', 'abc'])).toMatchObject({
      status: 2,
      stdout: '',
      stderr: 'error: --ttl: "abc" is not a valid TTL (expected whole seconds, 0 or more, e.g. --ttl 60)\n',
    });
  });

  it('PORT=abc npm start', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
      env: { ...process.env, EGRESS_LOCAL_DIR: stateDir, PORT: 'abc' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: PORT: "abc" is not a valid port \(expected a whole number 0-65535/);
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
  });
});
