// `npm run lab`: a kept lab outlives the command that built it, local mode can read its files, and
// `down` leaves no namespace, process or file behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLabCommand } from '../../../local/lab/lab-command.js';
import { labAvailable } from '../../../local/lab/netns-lab.js';
import { LAB_SPACE_ID, labAppId, labDown } from '../../../local/lab/persistent-lab.js';

const TAG = 'labtest';
const PREFIX = `dl-${TAG}-keep-`;

const namespaces = (): string[] =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(PREFIX));

/** `gone`, or the state letter of /proc/<pid>/stat (R, S, Z, …). */
function runningState(pid: number): string {
  try {
    return (
      readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ')[0] ?? 'gone'
    );
  } catch {
    return 'gone';
  }
}

describe.runIf(labAvailable())('npm run lab', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'lab-')), 'lab');
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) };

  afterAll(async () => {
    await labDown({ dir, tag: TAG }).catch(() => undefined);
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('builds cells that outlive the command, with containers files and a cells file for local mode', async () => {
    // In a process of its own, as `npm run lab` runs: what it built must survive its exit.
    const script = `const { runLabCommand } = await import(${JSON.stringify(join(process.cwd(), 'local/lab/lab-command.ts'))});
      process.exitCode = await runLabCommand(JSON.parse(process.argv[1]), {
        stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }, ${JSON.stringify(TAG)});`;
    const argv = ['up', '--dir', dir, '--cells', '2', '--containers', '2'];
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(argv)],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    out.push(child.stdout);
    expect(namespaces().sort()).toEqual(
      ['c0-0', 'c0-1', 'c1-0', 'c1-1', 'cell0', 'cell1', 'ext'].map((suffix) => `${PREFIX}${suffix}`),
    );
    const cells = JSON.parse(readFileSync(join(dir, 'cells.json'), 'utf8'));
    expect(cells).toEqual([
      { name: 'cell-1', netns: `${PREFIX}cell0`, containers: join(dir, 'cell-1', 'store.json') },
      { name: 'cell-2', netns: `${PREFIX}cell1`, containers: join(dir, 'cell-2', 'store.json') },
    ]);
    const store = JSON.parse(readFileSync(join(dir, 'cell-2', 'store.json'), 'utf8'));
    expect(store['cell-2-container-2']).toEqual({
      handle: 'cell-2-container-2',
      ip: '10.255.2.3',
      metadata: { app_id: labAppId(1, 1), space_id: LAB_SPACE_ID, org_id: expect.any(String) },
    });
    expect(out.join('')).toContain(`EGRESS_LOCAL_CELLS=${join(dir, 'cells.json')} npm start`);
    // The external services run on in their namespace, and a container reaches them (no agent yet).
    expect(spawnSync('ip', ['netns', 'pids', `${PREFIX}ext`], { encoding: 'utf8' }).stdout.trim()).toMatch(/^\d+/);
    const probe = spawnSync(
      'ip',
      ['netns', 'exec', `${PREFIX}c1-1`, 'bash', '-c', 'echo > /dev/tcp/203.0.113.20/5432 && echo open'],
      { encoding: 'utf8', timeout: 5000 },
    );
    expect(probe.stdout.trim()).toBe('open');
  });

  it('refuses a second lab in the same folder and leaves the first alone', async () => {
    err.length = 0;
    expect(await runLabCommand(['--dir', dir], io, TAG)).toBe(1);
    expect(err.join('')).toMatch(/a lab is already up in .*: take it down first/);
    expect(namespaces()).toHaveLength(7);
  });

  it('down stops the services and removes every namespace and file', async () => {
    const servicePids = spawnSync('ip', ['netns', 'pids', `${PREFIX}ext`], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .map(Number);
    out.length = 0;
    expect(await runLabCommand(['down', '--dir', dir], io, TAG)).toBe(0);
    expect(out.join('')).toMatch(/^lab down: 7 namespace\(s\) removed/);
    expect(namespaces()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    // Gone, or a zombie its new parent (init, here maybe a shell that never reaps) has not collected.
    for (const pid of servicePids) expect(runningState(pid)).toMatch(/^(gone|Z)$/);
  });
});

describe('lab arguments', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runLabCommand(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, TAG);
    return { code, out: out.join(''), err: err.join('') };
  };

  it('--help prints the usage and exits 0, building nothing', async () => {
    const result = await run(['--help']);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(/^usage: npm run lab/);
    expect(result.out).toContain('--containers N');
  });

  it('names the bad value and the range, and refuses unknown options', async () => {
    expect((await run(['--cells', '9'])).err).toMatch(/^error: --cells: "9" is not a whole number from 1 to 8/);
    expect((await run(['--containers', 'many'])).err).toMatch(/^error: --containers: "many" is not a whole number/);
    expect((await run(['down', '--cells', '2'])).err).toMatch(/^error: unknown option "--cells" for lab down/);
    expect((await run(['--dir'])).code).toBe(2);
  });
});
