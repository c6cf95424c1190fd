// `agent logs` in-process: enriched lines on stdout until the stop signal, then the summary on stderr;
// `agent ulogd-config` prints the configuration.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE, runCli } from '../../agent/cli.js';
import { logs } from '../../agent/cli-logs.js';
import { ULOGD_TCP } from './logging/ulogd-records.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-logs-'));
afterEach(() => rmSync(join(dir, 'ulogd.json'), { force: true }));

function capture() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (text: string) => {
        out.stdout += text;
      },
      stderr: (text: string) => {
        out.stderr += text;
      },
    },
  };
}

describe('agent logs', () => {
  it('writes enriched lines to stdout until stopped, then one summary line on stderr', async () => {
    const input = join(dir, 'ulogd.json');
    const containers = join(dir, 'store.json');
    writeFileSync(input, '');
    writeFileSync(
      containers,
      JSON.stringify({ h: { handle: 'h', ip: '10.255.1.2', metadata: { app_id: 'a', space_id: 's', org_id: 'o' } } }),
    );
    const { out, io } = capture();
    const stop = new AbortController();
    const running = logs({ command: 'logs', containers, input, output: undefined, fromStart: false }, io, stop.signal);
    await new Promise((done) => setTimeout(done, 100));
    appendFileSync(input, `${ULOGD_TCP}\nnot json\n`);
    await expect.poll(() => out.stdout, { timeout: 3000 }).toContain('"container_id":"h"');
    // Written right before the stop: drained on the way out.
    appendFileSync(input, `${ULOGD_TCP}\n`);
    stop.abort();
    await running;
    expect(out.stdout.trim().split('\n')).toHaveLength(2);
    expect(JSON.parse(out.stderr.trim())).toMatchObject({ message: 'log forwarder stopped', lines: 2, unparseable: 1 });
  });

  it('ulogd-config prints the configuration; a bad path is a usage error', async () => {
    const { out, io } = capture();
    expect(await runCli(['ulogd-config', '--json-file', '/var/log/e.json', '--log-group', '9'], io)).toBe(EXIT_OK);
    expect(out.stdout).toContain('\ngroup=9\n');
    expect(out.stdout).toContain('\nfile="/var/log/e.json"\n');
    const bad = capture();
    expect(await runCli(['ulogd-config', '--json-file', 'a"b'], bad.io)).toBe(EXIT_USAGE);
    expect(bad.out.stderr).toMatch(/^error: --json-file: must not contain quotes/);
  });
});
