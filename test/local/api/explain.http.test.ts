// GET /explain over HTTP, on local mode and DynamoDB Local: every kind of reason, bad parameters
// named in a 400, and the scopes. Deny networks come from the environment, as the cells' do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENY_NETWORKS_ENV } from '../../../lambdas/api/explain-settings.js';
import { API, startTestApi, type TestApi } from '../../helpers/local-api.js';

const APP = '887757be-5eda-48ce-b427-79dcc0705e91';
const OTHER_APP = '9a8b7c6d-5eda-48ce-b427-79dcc0705e91';
const SPACE = '5ae0b4b4-1c4f-4c4e-9c43-1b2a2d5b6f70';
const ORG = '7d8a4b6c-3e5f-4a7b-8c1d-2e3f4a5b6c7d';

let api: TestApi;
let policyId = '';
let groupGuid = '';
const before = process.env[DENY_NETWORKS_ENV];

beforeAll(async () => {
  // Read when local mode makes the handlers, as Lambda reads it at a cold start.
  process.env[DENY_NETWORKS_ENV] = '{"always":["203.0.113.128/25"],"staging":["198.51.100.0/24"]}';
  api = await startTestApi();
  const destination = await api.call('POST', `${API}/destinations`, {
    body: {
      destinations: [
        {
          name: 'orders-db',
          ips: [{ start: '198.51.100.7', end: '198.51.100.7' }],
          ports: [{ start: 5432, end: 5432 }],
          protocol: 'tcp',
        },
      ],
    },
  });
  expect(destination.status).toBe(201);
  const destinationId = (destination.body as { destinations: { id: string }[] }).destinations[0]?.id;
  const policy = await api.call('POST', `${API}/egress_policies`, {
    body: { egress_policies: [{ source: { id: APP }, destination: { id: destinationId } }] },
  });
  expect(policy.status).toBe(201);
  policyId = (policy.body as { egress_policies: { id: string }[] }).egress_policies[0]?.id ?? '';
  const group = await api.call('POST', '/v3/security_groups', {
    body: {
      name: 'partner-apis',
      rules: [
        { protocol: 'udp', destination: '203.0.113.10', ports: '53' },
        { protocol: 'tcp', destination: '203.0.113.0/24', ports: '443', description: 'partner range' },
      ],
    },
  });
  expect(group.status).toBe(201);
  groupGuid = (group.body as { guid: string }).guid;
  const bound = await api.call('POST', `/v3/security_groups/${groupGuid}/relationships/running_organizations`, {
    body: { data: [{ guid: ORG }] },
  });
  expect(bound.status).toBe(200);
});

afterAll(async () => {
  await api?.stop();
  if (before === undefined) delete process.env[DENY_NETWORKS_ENV];
  else process.env[DENY_NETWORKS_ENV] = before;
});

const explain = (query: string, token?: string | null) =>
  api.call('GET', `${API}/explain?${query}`, token === undefined ? {} : { token });

describe('GET /explain', () => {
  it('allows through an egress policy and names the policy and its destination', async () => {
    const answer = await explain(`app=${APP}&space=${SPACE}&ip=198.51.100.7&port=5432&protocol=tcp`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      allowed: true,
      version: expect.any(Number),
      reasons: [
        {
          type: 'egress_policy',
          policy: { id: policyId, source: { type: 'app', id: APP }, destination: { name: 'orders-db' } },
          description: expect.stringContaining('orders-db'),
        },
      ],
    });
  });

  it('allows through an organisation-bound security group and names the group, the rule and its index', async () => {
    const answer = await explain(`app=${APP}&space=${SPACE}&org=${ORG}&ip=203.0.113.20&port=443&protocol=tcp`);
    expect(answer.body).toMatchObject({
      allowed: true,
      reasons: [
        {
          type: 'security_group',
          security_group: { guid: groupGuid, name: 'partner-apis' },
          bound: ['organization'],
          lifecycle: 'running',
          rule_index: 1,
          rule: { protocol: 'tcp', destination: '203.0.113.0/24', ports: '443', description: 'partner range' },
        },
      ],
    });
  });

  it('refuses what nothing allows: another app, another port, no organisation given', async () => {
    for (const query of [
      `app=${OTHER_APP}&space=${SPACE}&ip=198.51.100.7&port=5432&protocol=tcp`,
      `app=${APP}&space=${SPACE}&ip=198.51.100.7&port=5433&protocol=tcp`,
      `app=${APP}&space=${SPACE}&ip=203.0.113.20&port=443&protocol=tcp`,
    ]) {
      const answer = await explain(query);
      expect(answer.status, query).toBe(200);
      expect(answer.body, query).toMatchObject({ allowed: false, reasons: [{ type: 'default_deny' }] });
    }
  });

  it('refuses a deny network whatever allows it, per workload', async () => {
    const always = await explain(`app=${APP}&space=${SPACE}&org=${ORG}&ip=203.0.113.200&port=443&protocol=tcp`);
    expect(always.body).toMatchObject({
      allowed: false,
      reasons: [{ type: 'deny_network', cidr: '203.0.113.128/25', list: 'always' }],
    });
    // The policy allows the database for every lifecycle; staging's deny network closes it for staging.
    const staging = await explain(`app=${APP}&space=${SPACE}&workload=staging&ip=198.51.100.7&port=5432&protocol=tcp`);
    expect(staging.body).toMatchObject({
      allowed: false,
      reasons: [{ type: 'deny_network', cidr: '198.51.100.0/24', list: 'staging' }],
    });
    const task = await explain(`app=${APP}&space=${SPACE}&workload=task&ip=198.51.100.7&port=5432&protocol=tcp`);
    expect(task.body).toMatchObject({ allowed: true });
  });

  it('answers icmp questions (echo request by default)', async () => {
    const answer = await explain(`app=${APP}&space=${SPACE}&ip=198.51.100.7&protocol=icmp`);
    expect(answer.body).toMatchObject({ allowed: false, reasons: [{ type: 'default_deny' }] });
  });

  it.each([
    ['missing app', `space=${SPACE}&ip=198.51.100.7&port=1&protocol=tcp`, 'app: is required'],
    ['a bad address', `app=${APP}&space=${SPACE}&ip=198.51.100.700&port=1&protocol=tcp`, 'ip: must be an IPv4 address'],
    ['no port for tcp', `app=${APP}&space=${SPACE}&ip=198.51.100.7&protocol=tcp`, 'port: is required for protocol tcp'],
    ['a port for icmp', `app=${APP}&space=${SPACE}&ip=198.51.100.7&protocol=icmp&port=1`, 'port: is only allowed'],
    ['port 0', `app=${APP}&space=${SPACE}&ip=198.51.100.7&port=0&protocol=tcp`, 'port: must be a whole number'],
    [
      'icmp_type for udp',
      `app=${APP}&space=${SPACE}&ip=1.2.3.4&port=53&protocol=udp&icmp_type=3`,
      'icmp_type: is only',
    ],
    ['a bad protocol', `app=${APP}&space=${SPACE}&ip=198.51.100.7&port=1&protocol=sctp`, 'protocol: must be one of'],
    ['a bad workload', `app=${APP}&space=${SPACE}&ip=1.2.3.4&port=1&protocol=tcp&workload=web`, 'workload: must be'],
    ['an unknown parameter', `app=${APP}&space=${SPACE}&ip=1.2.3.4&port=1&protocol=tcp&dst=1`, 'unknown query'],
  ])('answers 400 naming the parameter for %s', async (_name, query, message) => {
    const answer = await explain(query);
    expect(answer.status).toBe(400);
    expect((answer.body as { error: string }).error).toContain(message);
  });

  it('needs a token with network.admin', async () => {
    const query = `app=${APP}&space=${SPACE}&ip=198.51.100.7&port=5432&protocol=tcp`;
    expect((await explain(query, null)).status).toBe(401);
    const reader = await api.local.issuer.sign({ scopes: ['cloud_controller.global_auditor'] });
    expect((await explain(query, reader)).status).toBe(403);
  });
});
