// The forwarder follows ulogd's file like `tail -F`: appended lines, partial lines, truncation,
// rotation, a changed containers file, and garbage that is counted and skipped.
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Forwarder, MAX_LINE_BYTES, startForwarder } from '../../../agent/logging/log-forwarder.js';
import { ULOGD_ICMP, ULOGD_TCP, ULOGD_UDP } from './ulogd-records.js';

const store = (ip: string, handle: string, org = 'org-1') =>
  JSON.stringify({ [handle]: { handle, ip, metadata: { app_id: `app-${handle}`, space_id: 'space-1', org_id: org } } });

describe('startForwarder', () => {
  let dir: string;
  let input: string;
  let containers: string;
  let written: string[];
  let forwarder: Forwarder | undefined;

  const lines = () =>
    written
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { data: { packet: { protocol: string }; source: { container_id: string } } });
  const start = async (fromStart = false) => {
    forwarder = await startForwarder({
      input,
      containers,
      fromStart,
      pollMs: 60_000, // the tests poll by hand
      write: (text) => {
        written.push(text);
      },
    });
    return forwarder;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'forwarder-'));
    input = join(dir, 'ulogd.json');
    containers = join(dir, 'store.json');
    written = [];
    writeFileSync(containers, store('10.255.1.2', 'handle-1'));
  });

  afterEach(async () => {
    await forwarder?.stop();
    forwarder = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each appended record enriched, one line each, from the end of a file that exists', async () => {
    writeFileSync(input, `${ULOGD_TCP}\n`);
    const f = await start();
    await f.poll();
    expect(written).toEqual([]);
    appendFileSync(input, `${ULOGD_TCP}\n${ULOGD_UDP}\n`);
    await f.poll();
    expect(lines().map((line) => [line.data.packet.protocol, line.data.source.container_id])).toEqual([
      ['TCP', 'handle-1'],
      ['UDP', 'handle-1'],
    ]);
    expect(f.stats()).toMatchObject({ lines: 2, unparseable: 0 });
  });

  it('reads an existing file from its start with fromStart, and a file created later from its start', async () => {
    writeFileSync(input, `${ULOGD_TCP}\n`);
    const f = await start(true);
    await f.poll();
    expect(lines()).toHaveLength(1);
    rmSync(input);
    await f.poll();
    writeFileSync(input, `${ULOGD_UDP}\n`);
    await f.poll();
    expect(lines().map((line) => line.data.packet.protocol)).toEqual(['TCP', 'UDP']);
  });

  it('waits for a missing input file', async () => {
    const f = await start();
    await f.poll();
    writeFileSync(input, `${ULOGD_ICMP}\n`);
    await f.poll();
    expect(lines().map((line) => line.data.packet.protocol)).toEqual(['ICMP']);
  });

  it('keeps a partial line until its newline comes', async () => {
    writeFileSync(input, '');
    const f = await start();
    appendFileSync(input, ULOGD_TCP.slice(0, 100));
    await f.poll();
    appendFileSync(input, ULOGD_TCP.slice(100, 200));
    await f.poll();
    expect(written).toEqual([]);
    appendFileSync(input, `${ULOGD_TCP.slice(200)}\n`);
    await f.poll();
    expect(lines()).toHaveLength(1);
    expect(f.stats().unparseable).toBe(0);
  });

  it('starts over when the file is truncated', async () => {
    writeFileSync(input, '');
    const f = await start();
    appendFileSync(input, `${ULOGD_TCP}\n${ULOGD_TCP}\n`);
    await f.poll();
    truncateSync(input, 0);
    appendFileSync(input, `${ULOGD_UDP}\n`);
    await f.poll();
    expect(lines().map((line) => line.data.packet.protocol)).toEqual(['TCP', 'TCP', 'UDP']);
    expect(f.stats().inputRestarts).toBe(1);
  });

  it('finishes a rotated file and reads the new one from its start', async () => {
    writeFileSync(input, '');
    const f = await start();
    appendFileSync(input, `${ULOGD_TCP}\n`);
    await f.poll();
    const rotated = join(dir, 'ulogd.json.1');
    renameSync(input, rotated);
    appendFileSync(rotated, `${ULOGD_ICMP}\n`); // ulogd still writes to its open file until it reopens
    writeFileSync(input, `${ULOGD_UDP}\n`);
    await f.poll();
    expect(lines().map((line) => line.data.packet.protocol)).toEqual(['TCP', 'ICMP', 'UDP']);
    expect(f.stats().inputRestarts).toBe(1);
  });

  it('reads the containers file again when it changes, and keeps the old identities when it breaks', async () => {
    writeFileSync(input, '');
    const f = await start();
    appendFileSync(input, `${ULOGD_TCP}\n`);
    await f.poll();
    writeFileSync(containers, store('10.255.1.2', 'handle-2-is-new'));
    appendFileSync(input, `${ULOGD_TCP}\n`);
    await f.poll();
    writeFileSync(containers, '{"half": ');
    appendFileSync(input, `${ULOGD_TCP}\n`);
    await f.poll();
    expect(lines().map((line) => line.data.source.container_id)).toEqual([
      'handle-1',
      'handle-2-is-new',
      'handle-2-is-new',
    ]);
    expect(f.stats()).toMatchObject({ containerReloads: 3, containerErrors: 1 });
  });

  it('counts and skips garbage, an over-long line and other prefixes, and goes on', async () => {
    writeFileSync(input, '');
    const f = await start();
    const long = 'x'.repeat(MAX_LINE_BYTES + 10);
    appendFileSync(input, `not json\n{}\n\u0000\u0001\n${long}\n`);
    appendFileSync(input, `${ULOGD_TCP.replace('dyneg-denied', 'someone-else')}\n${ULOGD_TCP}\n`);
    await f.poll();
    expect(lines()).toHaveLength(1);
    expect(f.stats()).toMatchObject({ lines: 1, unparseable: 4, otherPrefix: 1 });
  });

  it('drains what is left when stopped', async () => {
    writeFileSync(input, '');
    const f = await start();
    appendFileSync(input, `${ULOGD_TCP}\n`);
    await f.stop();
    forwarder = undefined;
    expect(lines()).toHaveLength(1);
  });

  it('with a position file, goes on after a restart where it stopped: no line written meanwhile is lost, none twice', async () => {
    const positionFile = join(dir, 'logs.position');
    const withPosition = () =>
      startForwarder({ input, containers, positionFile, pollMs: 60_000, write: (text) => void written.push(text) });
    writeFileSync(input, `${ULOGD_TCP}\n`);
    // The first run ever starts at the end, as without a position file.
    let f = await withPosition();
    appendFileSync(input, `${ULOGD_UDP}\n${ULOGD_TCP.slice(0, 40)}`);
    await f.poll();
    await f.stop();
    expect(lines().map((line) => line.data.packet.protocol)).toEqual(['UDP']);
    // Down: the rest of the partial line and a whole one come.
    appendFileSync(input, `${ULOGD_TCP.slice(40)}\n${ULOGD_ICMP}\n`);
    f = await withPosition();
    forwarder = f;
    await f.poll();
    expect(lines().map((line) => line.data.packet.protocol)).toEqual(['UDP', 'TCP', 'ICMP']);
    await f.stop();
    forwarder = undefined;
    // Replaced while down (rotated): the new file from its start.
    renameSync(input, `${input}.1`);
    writeFileSync(input, `${ULOGD_UDP}\n`);
    f = await withPosition();
    forwarder = f;
    await f.poll();
    expect(lines().map((line) => line.data.packet.protocol)).toEqual(['UDP', 'TCP', 'ICMP', 'UDP']);
  });

  it('polls by itself', async () => {
    writeFileSync(input, '');
    forwarder = await startForwarder({ input, containers, pollMs: 20, write: (text) => void written.push(text) });
    appendFileSync(input, `${ULOGD_TCP}\n`);
    await expect.poll(() => lines().length, { timeout: 2000 }).toBe(1);
  });
});
