// `agent logs` in-process: enriched lines on stdout until the stop signal, then the summary on stderr;
// `agent ulogd-config` prints the configuration.
import { createSocket } from 'node:dgram';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE, runCli } from '../../agent/cli.js';
import type { Logs } from '../../agent/cli-args.js';
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

/** An empty ulogd file and a containers file with one container (h, 10.255.1.2). */
function inputFiles(): { input: string; containers: string } {
  const input = join(dir, 'ulogd.json');
  const containers = join(dir, 'store.json');
  writeFileSync(input, '');
  writeFileSync(
    containers,
    JSON.stringify({ h: { handle: 'h', ip: '10.255.1.2', metadata: { app_id: 'a', space_id: 's', org_id: 'o' } } }),
  );
  return { input, containers };
}

/** `agent logs` as parsed: these files, standard output, from the input's end, no position file. */
const logsArgs = (containers: string, input: string, proxyPort: number | undefined): Logs => ({
  command: 'logs',
  containers,
  input,
  output: undefined,
  fromStart: false,
  positionFile: undefined,
  proxyPort,
});

describe('agent logs', () => {
  it("writes the cell proxy's refusals from UDP with the container's identity, one a second per container", async () => {
    const { input, containers } = inputFiles();
    // A free port: bind to 0, read it, let it go.
    const probe = createSocket('udp4');
    const port = await new Promise<number>((resolve) =>
      probe.bind(0, '127.0.0.1', () => resolve(probe.address().port)),
    );
    probe.close();
    const { out, io } = capture();
    const stop = new AbortController();
    const running = logs(logsArgs(containers, input, port), io, stop.signal);
    await new Promise((done) => setTimeout(done, 100));
    const sender = createSocket('udp4');
    const send = (text: string) =>
      new Promise<void>((resolve) => sender.send(Buffer.from(text), port, '127.0.0.1', () => resolve()));
    // As HAProxy writes it (json converter: "/" escaped), for a route miss, then a second one in the same second.
    // The path holds a C1 control a terminal takes for CSI (U+009B): the line written escapes it.
    const record =
      '{"proxy":"http","src":"10.255.1.2","dst_port":80,"host":"api.test","method":"POST","path":"\\/get\u009b2J","status":403,"destination":"-","reason":"route"}\n';
    await send(record);
    await send(record);
    await send('not a record');
    await expect.poll(() => out.stdout, { timeout: 3000 }).toContain('"reason":"route"');
    sender.close();
    stop.abort();
    await running;
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      source: 'dynamic-egress',
      message: 'dynamic-egress.http-denied',
      data: {
        request: {
          protocol: 'http',
          host: 'api.test',
          method: 'POST',
          path: '/get\u009b2J',
          status: 403,
          destination_id: '',
        },
        source: { container_id: 'h', app_guid: 'a', space_guid: 's', organization_guid: 'o' },
      },
    });
    expect(lines[0]).not.toContain('\u009b');
    expect(lines[0]).toContain('\\u009b2J');
    expect(JSON.parse(out.stderr.trim())).toMatchObject({ proxyLines: 1, proxyLimited: 1, proxyUnparseable: 1 });
  });

  it('writes enriched lines to stdout until stopped, then one summary line on stderr', async () => {
    const { input, containers } = inputFiles();
    const { out, io } = capture();
    const stop = new AbortController();
    const running = logs(logsArgs(containers, input, undefined), io, stop.signal);
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
