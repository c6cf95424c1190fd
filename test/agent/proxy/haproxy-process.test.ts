// The proxy's process control without a proxy: a pid file that cannot be read (missing, or replaced
// while a reloading master writes it anew) means "not running", never an error that would fail a
// reload in the middle (seen in CI: ENOENT between an exists check and the read).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProxyProcess } from '../../../agent/proxy/haproxy-process.js';

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
