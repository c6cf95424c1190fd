// The proxy's process control without a proxy: a pid file that cannot be read (missing, or replaced
// while a reloading master writes it anew) means "not running", never an error that would fail a
// reload in the middle (seen in CI: ENOENT between an exists check and the read).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProxyProcess, proxyPaths, UNCONFIRMED_RELOAD } from '../../../agent/proxy/haproxy-process.js';

const dir = mkdtempSync(join(tmpdir(), 'haproxy-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createProxyProcess status', () => {
  it('is undefined without a pid file, and with one that cannot be read', async () => {
    const proxy = createProxyProcess({ dir: join(dir, 'proxy') });
    expect(await proxy.status()).toBeUndefined();
    // A path that exists but cannot be read as a file (EISDIR): the read fails, as a vanished file does.
    mkdirSync(proxy.paths.pidFile, { recursive: true });
    expect(await proxy.status()).toBeUndefined();
  });
});

describe('createProxyProcess reload, against a stand-in master that never reports the reload', () => {
  it('gives up after the wait and leaves a file equal to neither configuration, so the next sync reloads', async () => {
    const proxyDir = join(dir, 'unconfirmed');
    mkdirSync(proxyDir, { recursive: true });
    const paths = proxyPaths(proxyDir);
    const previous = 'global\n  daemon\n';
    writeFileSync(paths.config, previous);
    // A stand-in haproxy for `-c`, and a master: our configuration in its argv, SIGUSR2 ignored, its
    // CLI answering `show proc` with a reload count that never moves.
    const haproxy = join(dir, 'haproxy-check');
    writeFileSync(haproxy, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const master = spawn(
      process.execPath,
      [
        '-e',
        `process.on('SIGUSR2', () => {});
         require('node:net').createServer((socket) => socket.end('#<PID> <type> <reloads>\\n' + process.pid + ' master 0 [failed: 0]\\n# workers\\n4242 worker 0\\n')).listen(process.argv[1], () => console.log('ready'));`,
        paths.socket,
        '-f',
        paths.config,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((ready) => master.stdout?.once('data', ready));
      writeFileSync(paths.pidFile, `${master.pid}\n`);
      const proxy = createProxyProcess({ dir: proxyDir, haproxy, timeoutMs: 300 });
      expect(await proxy.status()).toMatchObject({ reloads: 0, workers: [4242] });
      const next = 'global\n  daemon\n  maxconn 10\n';
      await expect(proxy.reload(next)).rejects.toThrow('the reload was not reported within 300 ms');
      const file = readFileSync(paths.config, 'utf8');
      expect(file).toBe(`${previous}${UNCONFIRMED_RELOAD}`);
      expect([previous, next]).not.toContain(file);
    } finally {
      master.kill('SIGKILL');
    }
  });
});
