// The proxy's systemd unit: HAProxy master-worker with notify, checked before start and reload,
// sharing the agent's paths; systemd's own verdict where systemd-analyze is installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROXY_SERVICE, proxyUnit } from '../../../agent/proxy/systemd-unit.js';
import { toolsAvailable } from './prerequisites.js';

describe('proxyUnit', () => {
  it('runs HAProxy in master-worker mode with notify, checking the configuration before start and reload', () => {
    expect(proxyUnit().split('\n')).toEqual(
      expect.arrayContaining([
        'Type=notify',
        'ExecStartPre=/usr/sbin/haproxy -Ws -c -q -f /var/lib/dynamic-egress/proxy/haproxy.cfg',
        'ExecStart=/usr/sbin/haproxy -Ws -f /var/lib/dynamic-egress/proxy/haproxy.cfg -p /var/lib/dynamic-egress/proxy/haproxy.pid -S /var/lib/dynamic-egress/proxy/master.sock',
        'ExecReload=/usr/sbin/haproxy -Ws -c -q -f /var/lib/dynamic-egress/proxy/haproxy.cfg',
        'ExecReload=/bin/kill -USR2 $MAINPID',
        'KillMode=mixed',
        'Restart=always',
        'StartLimitIntervalSec=0',
        'WantedBy=multi-user.target',
      ]),
    );
  });

  it('refuses a value that could break out of the unit', () => {
    for (const dir of ['relative', '/a b', '/a\nExecStartPre=/bin/evil', '/a;b', '/a$b', '/a%b', "/a'b"]) {
      expect(() => proxyUnit({ dir })).toThrow(/unsafe value/);
    }
  });
});

describe.runIf(toolsAvailable('systemd-analyze verify of the proxy unit', 'systemd-analyze', 'haproxy'))(
  'systemd-analyze',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-unit-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('passes systemd-analyze verify', () => {
      const haproxy = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(join(dir, PROXY_SERVICE), proxyUnit({ dir: join(dir, 'proxy'), haproxy }));
      const verify = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, PROXY_SERVICE)], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    });
  },
);
