// cloud.gov's story on local mode with a real cell: V3 security group writes go through the stream,
// the fan-out and the agent into a network namespace, and real connections follow, per lifecycle
// and per space, organisation or global binding, with no restart.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../../core/log.js';
import { inProcessAgentRunner } from '../../../local/cells/agent-in-process.js';
import {
  createLab,
  type Lab,
  type LabContainer,
  labAvailable,
  type ProbeResult,
} from '../../../local/lab/netns-lab.js';
import { type LocalMode, startLocalMode } from '../../../local/local-mode.js';
import { createTestTable } from '../../helpers/ddb.js';
import { containersOf, firstCell } from '../../helpers/lab-cell.js';

const SPACE = '5a0e0000-0000-4000-8000-0000000000a1';
const ORG = '0a0e0000-0000-4000-8000-0000000000b2';
const APP = '887757be-5eda-48ce-b427-79dcc0705e92';
const INTERNET = '198.51.100.30';
/** Inside the public egress range, but an operator deny network: closed whatever is bound. */
const DENIED = '198.51.100.99';
const BROKERED = '203.0.113.40';
const HTTPS = 443;
const POSTGRES = 5432;

describe.runIf(labAvailable())('security groups on local mode, one cell', () => {
  let lab: Lab;
  let local: LocalMode;
  let token: string;
  let workDir: string;
  let running: LabContainer;
  let staging: LabContainer;

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${local.url}/v3${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  /**
   * Probes every pair until they give `expected` or 20 s pass (the stream reader polls and the
   * dispatcher is asynchronous), and returns the last results.
   */
  async function reach(expected: Record<string, ProbeResult>): Promise<Record<string, ProbeResult>> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      await local.propagation?.dispatcher.idle();
      const results = await probeAll();
      const done = Object.entries(expected).every(([pair, result]) => results[pair] === result);
      if (done || Date.now() > deadline) return results;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Nothing open: where each step starts from. */
  const closed: Record<string, ProbeResult> = {
    'running→internet': 'refused',
    'staging→internet': 'refused',
    'running→brokered': 'refused',
    'staging→brokered': 'refused',
    'running→denied': 'refused',
    'staging→denied': 'refused',
  };

  async function expectReach(expected: Record<string, ProbeResult>): Promise<void> {
    expect(await reach(expected)).toEqual(expected);
  }

  async function probeAll(): Promise<Record<string, ProbeResult>> {
    const probes = {
      'running→internet': () => lab.tcp(running, INTERNET, HTTPS, 500),
      'staging→internet': () => lab.tcp(staging, INTERNET, HTTPS, 500),
      'running→brokered': () => lab.tcp(running, BROKERED, POSTGRES, 500),
      'staging→brokered': () => lab.tcp(staging, BROKERED, POSTGRES, 500),
      'running→denied': () => lab.tcp(running, DENIED, HTTPS, 500),
      'staging→denied': () => lab.tcp(staging, DENIED, HTTPS, 500),
    };
    const results = await Promise.all(Object.values(probes).map((probe) => probe()));
    return Object.fromEntries(Object.keys(probes).map((name, index) => [name, results[index] ?? 'timeout']));
  }

  beforeAll(async () => {
    lab = await createLab({
      tag: 'asgprop',
      cells: [{ count: 2 }],
      external: { addresses: [INTERNET, DENIED, BROKERED], tcpPorts: [HTTPS, POSTGRES] },
    });
    workDir = mkdtempSync(join(tmpdir(), 'egress-asg-'));
    const cell = firstCell(lab);
    [running, staging] = containersOf(cell, 2);
    const containers = join(workDir, 'store.json');
    const metadata = { app_id: APP, space_id: SPACE, org_id: ORG };
    writeFileSync(
      containers,
      JSON.stringify({
        web: { handle: 'web', ip: running.ip, metadata: { ...metadata, container_workload: 'app' } },
        build: { handle: 'build', ip: staging.ip, metadata: { ...metadata, container_workload: 'staging' } },
      }),
    );
    const table = await createTestTable();
    local = await startLocalMode({
      stateDir: workDir,
      port: 0,
      dynamodbEndpoint: table.endpoint,
      tableName: table.tableName,
      propagation: {
        cells: [{ name: 'cell-1', netns: cell.ns, containers }],
        runAgent: inProcessAgentRunner({
          dynamodb: table.client,
          tableName: table.tableName,
          stateRoot: join(workDir, 'cells'),
          denyNetworks: { always: [`${DENIED}/32`], running: [], staging: [] },
        }),
        republishIntervalMs: 3_600_000,
        resyncIntervalMs: 3_600_000,
        log: silentLog,
      },
    });
    token = await local.issuer.sign();
  });

  afterAll(async () => {
    await local?.stop();
    await lab?.destroy();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('walks the story: closed, public egress for running, staging under public egress, trusted local per org, unbind, delete', async () => {
    await expectReach(closed);

    // The internet but not the brokered range, for the space's running apps.
    const publicEgress = await call('POST', '/security_groups', {
      name: 'public_networks_egress',
      rules: [{ protocol: 'tcp', destination: '198.51.100.0-198.51.100.255', ports: '443' }],
      relationships: { running_spaces: { data: [{ guid: SPACE }] } },
    });
    expect(publicEgress.status).toBe(201);
    const publicGuid = (publicEgress.body as { guid: string }).guid;
    await expectReach({ ...closed, 'running→internet': 'open' });

    // Staging runs under public egress everywhere.
    expect(
      (await call('PATCH', `/security_groups/${publicGuid}`, { globally_enabled: { staging: true } })).status,
    ).toBe(200);
    await expectReach({ ...closed, 'running→internet': 'open', 'staging→internet': 'open' });

    // The brokered services, for every running app of the organisation (our extension).
    const trusted = await call('POST', '/security_groups', {
      name: 'trusted_local_networks_egress',
      rules: [{ protocol: 'all', destination: BROKERED }],
    });
    const trustedGuid = (trusted.body as { guid: string }).guid;
    const bound = await call('POST', `/security_groups/${trustedGuid}/relationships/running_organizations`, {
      data: [{ guid: ORG }],
    });
    expect(bound.status).toBe(200);
    await expectReach({
      ...closed,
      'running→internet': 'open',
      'staging→internet': 'open',
      'running→brokered': 'open',
    });

    // Unbinding the space closes the running app's internet; the global staging flag still holds.
    expect((await call('DELETE', `/security_groups/${publicGuid}/relationships/running_spaces/${SPACE}`)).status).toBe(
      204,
    );
    await expectReach({ ...closed, 'staging→internet': 'open', 'running→brokered': 'open' });

    // Deleting the groups closes everything again.
    expect((await call('DELETE', `/security_groups/${publicGuid}`)).status).toBe(202);
    expect((await call('DELETE', `/security_groups/${trustedGuid}`)).status).toBe(202);
    await expectReach(closed);
  });

  it("applies v1 policies by CF's app_lifecycle, and a default source to every app", async () => {
    const v1 = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${local.url}/networking/v1/external${path}`, {
        method,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await response.json()) as Record<string, { id: string }[]>;
    };
    const destination = (name: string, ip: string, port: number) =>
      v1('POST', '/destinations', {
        destinations: [{ name, ips: [{ start: ip, end: ip }], ports: [{ start: port, end: port }], protocol: 'tcp' }],
      }).then((body) => body.destinations?.[0]?.id ?? '');
    const brokered = await destination('brokered-pg', BROKERED, POSTGRES);
    const internet = await destination('internet-https', INTERNET, HTTPS);

    const forStaging = await v1('POST', '/egress_policies', {
      egress_policies: [{ source: { id: APP }, destination: { id: brokered }, app_lifecycle: 'staging' }],
    });
    await expectReach({ ...closed, 'staging→brokered': 'open' });
    const forEveryApp = await v1('POST', '/egress_policies', {
      egress_policies: [{ source: { type: 'default' }, destination: { id: internet } }],
    });
    await expectReach({
      ...closed,
      'staging→brokered': 'open',
      'running→internet': 'open',
      'staging→internet': 'open',
    });

    for (const created of [forStaging, forEveryApp]) {
      await v1('DELETE', `/egress_policies/${created.egress_policies?.[0]?.id ?? ''}`);
    }
    await expectReach(closed);
  });
});
