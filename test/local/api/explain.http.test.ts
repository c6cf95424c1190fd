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

  it('says traffic to the container network is not egress', async () => {
    const answer = await explain(`app=${APP}&space=${SPACE}&ip=10.255.7.8&port=8080&protocol=tcp`);
    expect(answer.body).toMatchObject({ allowed: true, reasons: [{ type: 'not_egress', overlay: '10.255.0.0/16' }] });
  });

  it('answers icmp questions (echo request by default)', async () => {
    const answer = await explain(`app=${APP}&space=${SPACE}&ip=198.51.100.7&protocol=icmp`);
    expect(answer.body).toMatchObject({ allowed: false, reasons: [{ type: 'default_deny' }] });
  });

  it('answers http and https questions with the destination and route the cell proxy would match', async () => {
    const created = await api.call('POST', `${API}/destinations`, {
      body: {
        destinations: [
          {
            name: 'httpbin',
            ips: [],
            hosts: ['httpbin.org'],
            ports: [{ start: 80, end: 80 }],
            protocol: 'http',
            routes: [
              { methods: ['GET'], path_regex: '/get' },
              { path_regex: '/status.*', headers: { 'x-env': 'prod' } },
            ],
          },
          {
            name: 'httpbin-tls',
            ips: [],
            hosts: ['*.httpbin.org'],
            ports: [{ start: 443, end: 443 }],
            protocol: 'https',
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    const ids = (created.body as { destinations: { id: string }[] }).destinations.map(({ id }) => id);
    const policies = await api.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: ids.map((id) => ({ source: { id: APP }, destination: { id } })) },
    });
    expect(policies.status).toBe(201);
    const who = `app=${APP}&space=${SPACE}`;

    const get = await explain(`${who}&protocol=http&host=HTTPBIN.org&port=80&path=/get`);
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({
      allowed: true,
      reasons: [{ type: 'layer7_destination', destination: { id: ids[0], name: 'httpbin' }, route_index: 0 }],
    });
    const status = await explain(`${who}&protocol=http&host=httpbin.org&port=80&path=/status/200`);
    expect(status.body).toMatchObject({
      allowed: false,
      reasons: [
        {
          type: 'layer7_refused',
          near: [
            {
              destination: ids[0],
              why: 'route 0: path /status/200 does not match /get (the whole path); route 1: header x-env must be "prod"',
            },
          ],
        },
      ],
    });
    const headers = encodeURIComponent('{"X-Env":"prod"}');
    const withHeader = await explain(
      `${who}&protocol=http&host=httpbin.org&port=80&path=/status/200&headers=${headers}`,
    );
    expect(withHeader.body).toMatchObject({ allowed: true, reasons: [{ route_index: 1 }] });
    const tls = await explain(`${who}&protocol=https&host=eu.httpbin.org&port=443`);
    expect(tls.body).toMatchObject({
      allowed: true,
      reasons: [{ type: 'layer7_destination', destination: { id: ids[1] } }],
    });
    const otherApp = await explain(`app=${OTHER_APP}&space=${SPACE}&protocol=https&host=eu.httpbin.org&port=443`);
    expect(otherApp.body).toMatchObject({ allowed: false, reasons: [{ type: 'layer7_refused', near: [] }] });
  });

  it.each([
    ['no host for http', `app=${APP}&space=${SPACE}&protocol=http&port=80`, 'host: is required for protocol http'],
    [
      'an ip for https',
      `app=${APP}&space=${SPACE}&protocol=https&host=a.example.com&port=443&ip=1.2.3.4`,
      'ip: is not used',
    ],
    [
      'a pattern as host',
      `app=${APP}&space=${SPACE}&protocol=https&host=*.example.com&port=443`,
      'host: must be a name',
    ],
    ['a bad host', `app=${APP}&space=${SPACE}&protocol=http&host=a..b&port=80`, 'host: must not start or end with "."'],
    [
      'a path for https',
      `app=${APP}&space=${SPACE}&protocol=https&host=a.example.com&port=443&path=/x`,
      'path: is only allowed for protocol http',
    ],
    [
      'a relative path',
      `app=${APP}&space=${SPACE}&protocol=http&host=a.example.com&port=80&path=x`,
      'path: must start with "/"',
    ],
    [
      'a bad method',
      `app=${APP}&space=${SPACE}&protocol=http&host=a.example.com&port=80&method=FETCH`,
      'method: must be one of',
    ],
    [
      'headers not JSON',
      `app=${APP}&space=${SPACE}&protocol=http&host=a.example.com&port=80&headers=x`,
      'headers: must be a JSON object',
    ],
    [
      'a host for tcp',
      `app=${APP}&space=${SPACE}&protocol=tcp&ip=1.2.3.4&port=80&host=a.example.com`,
      'host: is only allowed for protocol http or https',
    ],
    ['no ip for tcp', `app=${APP}&space=${SPACE}&protocol=tcp&port=80`, 'ip: is required for protocol tcp'],
  ])('answers 400 naming the parameter for %s (http and https)', async (_name, query, message) => {
    const answer = await explain(query);
    expect(answer.status).toBe(400);
    expect((answer.body as { error: string }).error).toContain(message);
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
