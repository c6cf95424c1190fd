// The proxy step when HAProxy will not take the new configuration: the redirects to the proxy, which
// still runs the previous configuration, are removed (fail closed) and the error is thrown. An error
// path, so a fake process and a fake nat table; the netns tests cover the working paths.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProxyConfigError } from '../../../agent/proxy/errors.js';
import { PROXY_CHAIN, PROXY_HOOK_COMMENT } from '../../../agent/proxy/interception.js';
import { syncProxy } from '../../../agent/proxy/proxy-sync.js';
import type { CommandRunner } from '../../../agent/runner.js';
import type { Layer7Plan } from '../../../core/plan/layer7.js';
import { fakeProxyProcess } from './fake-process.js';

const dir = mkdtempSync(join(tmpdir(), 'proxy-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plan: Layer7Plan = {
  destinations: [
    {
      id: 'd-web',
      protocol: 'http',
      hosts: ['web.example.com'],
      ports: [{ start: 80, end: 80 }],
      sources: ['10.255.1.2'],
    },
  ],
  allowances: new Map([['10.255.1.2', []]]),
  conflicts: [],
};

/** A nat table holding the previous run's redirects. */
const NAT_WITH_REDIRECTS = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  `:${PROXY_CHAIN} - [0:0]`,
  `-A PREROUTING -m comment --comment "${PROXY_HOOK_COMMENT}" -j ${PROXY_CHAIN}`,
  `-A ${PROXY_CHAIN} -s 10.255.1.2/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 15080`,
  'COMMIT',
  '',
].join('\n');

function fakes(reload: () => Promise<void>) {
  const restores: string[] = [];
  const runner: CommandRunner = async (command, _args, input) => {
    if (command === 'iptables-save') return { code: 0, stdout: NAT_WITH_REDIRECTS, stderr: '' };
    if (command === 'iptables-restore') restores.push(input ?? '');
    return { code: 0, stdout: '', stderr: '' };
  };
  const process = fakeProxyProcess(join(dir, 'proxy'), {
    reload,
    status: async () => ({ pid: 4242, reloads: 1, failedReloads: 0, workers: [4243], oldWorkers: [] }),
  });
  return { restores, options: { process, runner, settings: { nameservers: ['10.0.0.2'] }, manage: 'start' as const } };
}

describe('syncProxy', () => {
  it('removes the redirects when the running proxy refuses the new configuration, and throws', async () => {
    const { restores, options } = fakes(async () => {
      throw new ProxyConfigError('haproxy -c refused the configuration', '[ALERT] …');
    });
    await expect(syncProxy(plan, options)).rejects.toThrow(ProxyConfigError);
    expect(restores).toHaveLength(1);
    expect(restores[0]).toContain(`-D PREROUTING -m comment --comment "${PROXY_HOOK_COMMENT}" -j ${PROXY_CHAIN}`);
    expect(restores[0]).toContain(`-X ${PROXY_CHAIN}`);
  });

  it('writes the new redirects once the proxy has taken the configuration', async () => {
    const { restores, options } = fakes(async () => undefined);
    expect(await syncProxy(plan, options)).toEqual({ destinations: 1, redirects: 1, proxy: 'reloaded' });
    expect(restores).toHaveLength(1);
    expect(restores[0]).not.toContain(`-X ${PROXY_CHAIN}`);
    expect(restores[0]).toContain('--dport 80');
  });
});
