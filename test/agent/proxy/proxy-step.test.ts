// The proxy step's record: unchanged inputs touch neither HAProxy nor the nat table, and a cell that
// needs no proxy does not even ask whether one runs (the netns tests cover a proxied cell).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { proxyStep } from '../../../agent/proxy/proxy-step.js';
import type { CommandRunner } from '../../../agent/runner.js';
import type { Container } from '../../../core/plan/model.js';
import { fakeProxyProcess } from './fake-process.js';

const dir = mkdtempSync(join(tmpdir(), 'proxy-step-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const containers: Container[] = [{ ip: '10.255.1.2', appId: 'app-a', spaceId: 's', lifecycle: 'running' }];

describe('proxyStep', () => {
  it('records the inputs of a cell without layer-7 destinations as idle, and then skips everything', async () => {
    const calls: string[] = [];
    const runner: CommandRunner = async (command, args) => {
      calls.push([command, ...args].join(' '));
      return { code: 0, stdout: '*nat\nCOMMIT\n', stderr: '' };
    };
    let statusAsked = 0;
    const process = fakeProxyProcess(join(dir, 'proxy'), {
      status: async () => {
        statusAsked += 1;
        return undefined;
      },
    });
    const options = { process, runner, settings: { nameservers: ['10.0.0.2'] }, manage: 'start' as const };
    let decoded = 0;
    const input = {
      policiesDigest: 'snapshot 1 abc',
      policies: () => {
        decoded += 1;
        return { total_egress_policies: 0, egress_policies: [] };
      },
      containers,
      force: false,
    };
    expect(await proxyStep(options, input)).toEqual({ destinations: 0, redirects: 0, proxy: 'none' });
    expect(calls).toEqual(['iptables-save -t nat']);
    expect(readFileSync(join(dir, 'proxy', 'synced-inputs'), 'utf8')).toMatch(/^[0-9a-f]{32} idle$/);

    expect(await proxyStep(options, input)).toEqual({ proxy: 'recorded' });
    expect([decoded, statusAsked, calls.length]).toEqual([1, 0, 1]);
    // Forced (the periodic full verify), or another input: synced again.
    await proxyStep(options, { ...input, force: true });
    await proxyStep(options, { ...input, policiesDigest: 'snapshot 2 def' });
    expect([decoded, calls.length]).toEqual([3, 3]);
  });

  it('forgets its record as a sync starts: inputs back to the recorded ones after a failed sync are synced again', async () => {
    // A failed sync may have changed the proxy (a refused configuration takes the redirects away):
    // its record no longer says what is in place.
    let failing = false;
    const calls: string[] = [];
    const runner: CommandRunner = async (command, args) => {
      calls.push([command, ...args].join(' '));
      return failing
        ? { code: 1, stdout: '', stderr: 'iptables-save: broken\n' }
        : { code: 0, stdout: '*nat\nCOMMIT\n', stderr: '' };
    };
    const process = fakeProxyProcess(join(dir, 'forget'), { status: async () => undefined });
    const options = { process, runner, settings: { nameservers: ['10.0.0.2'] }, manage: 'start' as const };
    const input = (digest: string) => ({
      policiesDigest: digest,
      policies: () => ({ total_egress_policies: 0, egress_policies: [] }),
      containers,
      force: false,
    });
    await proxyStep(options, input('snapshot A'));
    failing = true;
    await expect(proxyStep(options, input('snapshot B'))).rejects.toThrow();
    failing = false;
    calls.length = 0;
    expect(await proxyStep(options, input('snapshot A'))).toEqual({ destinations: 0, redirects: 0, proxy: 'none' });
    expect(calls).toEqual(['iptables-save -t nat']);
  });
});
