// Destinations matched by name over real HTTP (local mode on DynamoDB Local): created, listed,
// replaced, refused with 400 naming the field, all or nothing; explained (not_enforced for https,
// resolved_names for tcp names); a classic destination's JSON is
// byte for byte what it was. Every answer is checked against the OpenAPI document (local-api.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, startTestApi, type TestApi } from '../../helpers/local-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});

afterAll(async () => {
  await api?.stop();
});

const APP_GUID = '887757be-5eda-48ce-b427-79dcc0705e91';

const httpbin = {
  name: 'httpbin',
  hosts: ['HTTPBIN.org'],
  ports: [{ start: 80, end: 80 }],
  protocol: 'http',
  routes: [
    { methods: ['GET'], path_regex: '/get' },
    { path_regex: '^/status.*', headers: { 'x-demo': 'yes please' } },
  ],
};
const httpsApi = {
  name: 'api over tls',
  hosts: ['api.example.com', '*.example.org'],
  ports: [{ start: 443, end: 443 }],
  protocol: 'https',
};

type Listed = { destinations: { id: string; name: string }[] };

async function create(destinations: unknown[]) {
  return api.call('POST', `${API}/destinations`, { body: { destinations } });
}

describe('destinations with hosts', () => {
  it('creates, lists and replaces them, names lower-cased and ips [] when matched by name only', async () => {
    const created = await create([httpbin, httpsApi]);
    expect(created.status).toBe(201);
    const [bin, tls] = (created.body as Listed).destinations;
    expect(created.body).toEqual({
      total_destinations: 2,
      destinations: [
        {
          id: expect.any(String),
          name: 'httpbin',
          ips: [],
          hosts: ['httpbin.org'],
          ports: httpbin.ports,
          protocol: 'http',
          routes: httpbin.routes,
        },
        {
          id: expect.any(String),
          name: 'api over tls',
          ips: [],
          hosts: httpsApi.hosts,
          ports: httpsApi.ports,
          protocol: 'https',
        },
      ],
    });

    const listed = await api.call('GET', `${API}/destinations?id=${bin?.id},${tls?.id}`);
    expect(listed).toMatchObject({ status: 200, body: created.body });

    // A route added (FSM's walkthrough: /status/200 allowed once a /status.* route exists).
    const widened = { id: bin?.id, ...httpbin, routes: [...httpbin.routes, { path_regex: '/status.*' }] };
    const updated = await api.call('PUT', `${API}/destinations`, { body: { destinations: [widened] } });
    expect(updated.status).toBe(200);
    expect((updated.body as { destinations: { routes: unknown[] }[] }).destinations[0]?.routes).toHaveLength(3);

    const policy = await api.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: [{ source: { type: 'app', id: APP_GUID }, destination: { id: tls?.id } }] },
    });
    expect(policy.status).toBe(201);
    expect(policy.body).toMatchObject({
      egress_policies: [{ destination: { hosts: httpsApi.hosts, protocol: 'https' } }],
    });
    const policies = await api.call('GET', `${API}/egress_policies?SourceIDs=${APP_GUID}`);
    expect(policies.body).toMatchObject({ egress_policies: [{ destination: { id: tls?.id, hosts: httpsApi.hosts } }] });
  });

  it('keeps a classic destination byte for byte: no new key when hosts are unused', async () => {
    const classic = {
      name: 'MySQL classic',
      description: 'Demo',
      ips: [{ start: '23.96.35.235', end: '23.96.35.235' }],
      ports: [{ start: 3306, end: 3306 }],
      protocol: 'tcp',
    };
    const created = await create([classic]);
    const [made] = (created.body as Listed).destinations;
    const expected = `{"total_destinations":1,"destinations":[{"id":"${made?.id}","name":"MySQL classic","description":"Demo","ips":[{"start":"23.96.35.235","end":"23.96.35.235"}],"ports":[{"start":3306,"end":3306}],"protocol":"tcp"}]}`;
    expect(JSON.stringify(created.body)).toBe(expected);
    expect(JSON.stringify((await api.call('GET', `${API}/destinations?id=${made?.id}`)).body)).toBe(expected);
    // Empty hosts and routes are as good as absent.
    const put = await api.call('PUT', `${API}/destinations`, {
      body: { destinations: [{ id: made?.id, ...classic, hosts: [] }] },
    });
    expect(JSON.stringify(put.body)).toBe(expected);
  });

  it.each([
    [
      { ...httpsApi, ips: [{ start: '1.2.3.4', end: '1.2.3.4' }] },
      'destinations[0].ips: must be omitted for protocol https',
    ],
    [{ ...httpsApi, protocol: 'tcp' }, 'destinations[0].hosts[1]: may be a wildcard only for protocols http and https'],
    [{ ...httpsApi, routes: [{}] }, 'destinations[0].routes: is only allowed for protocol http'],
    [{ ...httpsApi, hosts: ['10.0.0.1'] }, 'destinations[0].hosts[0]: must not be an IP address'],
    [
      { ...httpbin, routes: [{ path_regex: '/(a+)+' }] },
      'destinations[0].routes[0].path_regex: must not repeat a group',
    ],
    [
      { ...httpbin, routes: [{ headers: { host: 'x.example' } }] },
      'destinations[0].routes[0].headers.host: name is not a header a route may match',
    ],
    [
      { ...httpbin, routes: [{ headers: { 'x-a': 'a\nb' } }] },
      'destinations[0].routes[0].headers.x-a: must be printable ASCII',
    ],
    [{ ...httpbin, routes: [{ methods: ['BREW'] }] }, 'destinations[0].routes[0].methods[0]: must be one of GET'],
    [{ ...httpbin, hosts: undefined }, 'destinations[0].hosts: is required for protocol http'],
  ])('refuses %j with 400 naming the field', async (destination, message) => {
    const answer = await create([destination]);
    expect(answer.status).toBe(400);
    expect((answer.body as { error: string }).error).toContain(message);
  });

  it('refuses a bulk request with one bad destination whole: nothing is created', async () => {
    const answer = await create([
      { ...httpsApi, name: 'bulk-good' },
      { ...httpsApi, name: 'bulk-bad', hosts: ['bad_name.example.com'] },
    ]);
    expect(answer.status).toBe(400);
    expect((answer.body as { error: string }).error).toContain('destinations[1].hosts[0]');
    const listed = await api.call('GET', `${API}/destinations?name=bulk-good,bulk-bad`);
    expect(listed.body).toEqual({ total_destinations: 0, destinations: [] });
  });

  it('explains a refused connection to a host policy as not enforced, valid against the document', async () => {
    const created = await create([{ ...httpsApi, name: 'explained' }]);
    const [made] = (created.body as Listed).destinations;
    const app = 'a1b2c3d4-0000-4000-8000-000000000001';
    const space = 'a1b2c3d4-0000-4000-8000-000000000002';
    await api.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: [{ source: { type: 'app', id: app }, destination: { id: made?.id } }] },
    });
    const answer = await api.call(
      'GET',
      `${API}/explain?app=${app}&space=${space}&ip=203.0.113.9&port=443&protocol=tcp`,
    );
    expect(answer).toMatchObject({
      status: 200,
      body: {
        allowed: false,
        reasons: [{ type: 'default_deny' }, { type: 'not_enforced', policy: { destination: { id: made?.id } } }],
      },
    });
  });

  it("explains a refused connection a tcp policy's names could carry as resolved_names, valid against the document", async () => {
    const db = { name: 'db by name', hosts: ['db.example.com'], ports: [{ start: 5432, end: 5432 }], protocol: 'tcp' };
    const created = await create([db]);
    const [made] = (created.body as Listed).destinations;
    const app = 'a1b2c3d4-0000-4000-8000-000000000003';
    const space = 'a1b2c3d4-0000-4000-8000-000000000004';
    await api.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: [{ source: { type: 'app', id: app }, destination: { id: made?.id } }] },
    });
    const answer = await api.call(
      'GET',
      `${API}/explain?app=${app}&space=${space}&ip=203.0.113.9&port=5432&protocol=tcp`,
    );
    expect(answer).toMatchObject({
      status: 200,
      body: {
        allowed: false,
        reasons: [{ type: 'default_deny' }, { type: 'resolved_names', policy: { destination: { id: made?.id } } }],
      },
    });
  });
});
