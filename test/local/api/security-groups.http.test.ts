// CF's V3 security groups over HTTP, on local mode and DynamoDB Local: every route, its filters and
// pagination, CF's error envelope and codes, scopes, and all-or-nothing writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../helpers/local-api.js';

const V3 = '/v3';
const SPACE_A = '5b6e2f4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const SPACE_B = '6c7f3a5b-2d4e-4f6a-9b0c-1d2e3f4a5b6c';
const ORG = '7d8a4b6c-3e5f-4a7b-8c1d-2e3f4a5b6c7d';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.stop();
});

interface Group {
  guid: string;
  name: string;
  created_at: string;
  updated_at: string;
  rules: unknown[];
  globally_enabled: { running: boolean; staging: boolean };
  relationships: Record<string, { data: { guid: string }[] }>;
  links: { self: { href: string } };
}

interface Page {
  pagination: {
    total_results: number;
    total_pages: number;
    first: { href: string };
    last: { href: string };
    next: { href: string } | null;
    previous: { href: string } | null;
  };
  resources: Group[];
}

const publicEgress = {
  protocol: 'all',
  destination: '0.0.0.0-9.255.255.255,11.0.0.0-169.253.255.255',
};

async function create(body: unknown): Promise<Group> {
  const created = await api.call('POST', `${V3}/security_groups`, { body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as Group;
}

/** The CF error of a response: status, code, title, detail. */
function cfError(response: { status: number; body: unknown }) {
  const body = response.body as { errors?: { code: number; title: string; detail: string }[] };
  const [error] = body.errors ?? [];
  return { status: response.status, code: error?.code, title: error?.title, detail: error?.detail };
}

describe('POST /v3/security_groups', () => {
  it('creates a group as CF presents it: rules as given, globally_enabled, relationships, links', async () => {
    const group = await create({
      name: 'public_networks_egress',
      rules: [publicEgress, { protocol: 'tcp', destination: '10.0.11.0/24', ports: '443,8443', log: true }],
      globally_enabled: { running: true },
      relationships: { staging_spaces: { data: [{ guid: SPACE_A.toUpperCase() }] } },
    });
    expect(group).toMatchObject({
      name: 'public_networks_egress',
      rules: [publicEgress, { protocol: 'tcp', destination: '10.0.11.0/24', ports: '443,8443', log: true }],
      globally_enabled: { running: true, staging: false },
      relationships: {
        running_spaces: { data: [] },
        staging_spaces: { data: [{ guid: SPACE_A }] },
        running_organizations: { data: [] },
        staging_organizations: { data: [] },
      },
    });
    expect(group.links.self.href).toBe(`${api.local.url}${V3}/security_groups/${group.guid}`);
    expect(group.created_at).toBe(group.updated_at);
    const fetched = await api.call('GET', `${V3}/security_groups/${group.guid}`);
    expect(fetched).toMatchObject({ status: 200, body: group });
  });

  it.each([
    [{ rules: [] }, "Name can't be blank"],
    [{ name: 'x'.repeat(251) }, 'Name is too long (maximum is 250 characters)'],
    [{ name: 7 }, 'Name must be a string'],
    [{ name: 'ok', color: 'red' }, "Unknown field(s): 'color'"],
    [{ name: 'ok', globally_enabled: { running: 'yes' } }, 'Globally enabled values must be booleans'],
    [{ name: 'ok', globally_enabled: { always: true } }, "Globally enabled only allows keys 'running' or 'staging'"],
    [{ name: 'ok', globally_enabled: [] }, 'Globally enabled must be an object'],
    [{ name: 'My\u200bSQL' }, 'Name must not contain zero-width or bidirectional formatting characters (U+200B)'],
  ])('refuses %j with 422 CF-UnprocessableEntity: %s', async (body, detail) => {
    const refused = await api.call('POST', `${V3}/security_groups`, { body });
    expect(cfError(refused)).toEqual({ status: 422, code: 10008, title: 'CF-UnprocessableEntity', detail });
  });

  it('refuses a bad rule with 422 naming the rule, and stores nothing', async () => {
    const before = await api.local.store.currentVersion();
    const refused = await api.call('POST', `${V3}/security_groups`, {
      body: { name: 'bad-rule', rules: [{ protocol: 'tcp', destination: '10.0.0.1' }] },
    });
    expect(cfError(refused)).toMatchObject({ status: 422, code: 10008 });
    expect(cfError(refused).detail).toMatch(/rules\[0\]|Rules\[0\]/);
    expect(await api.local.store.currentVersion()).toBe(before);
    const listed = await api.call('GET', `${V3}/security_groups?names=bad-rule`);
    expect((listed.body as Page).pagination.total_results).toBe(0);
  });

  it('refuses a taken name, also when many creates race for it: exactly one wins', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.call('POST', `${V3}/security_groups`, { body: { name: 'raced', rules: [] } }),
      ),
    );
    expect(attempts.filter((attempt) => attempt.status === 201)).toHaveLength(1);
    for (const lost of attempts.filter((attempt) => attempt.status !== 201)) {
      expect(cfError(lost)).toEqual({
        status: 422,
        code: 10008,
        title: 'CF-UnprocessableEntity',
        detail: "Security group with name 'raced' already exists.",
      });
    }
  });

  it('answers a bad JSON body with CF-MessageParseError', async () => {
    const refused = await api.call('POST', `${V3}/security_groups`, { rawBody: '{"name":' });
    expect(cfError(refused)).toMatchObject({ status: 400, code: 1001, title: 'CF-MessageParseError' });
  });

  it('answers a body too large and a method the path does not take with CF-InvalidRequest, not a server error', async () => {
    const large = await api.call('POST', `${V3}/security_groups`, { rawBody: `{"name":"${'x'.repeat(1_100_000)}"}` });
    expect(cfError(large)).toMatchObject({ status: 413, code: 10004, title: 'CF-InvalidRequest' });
    const method = await api.call('PUT', `${V3}/security_groups`, { body: {} });
    expect(cfError(method)).toMatchObject({ status: 405, code: 10004, title: 'CF-InvalidRequest' });
  });
});

describe('auth', () => {
  it.each([
    ['cloud_controller.admin', 201],
    ['network.admin', 201],
    ['cloud_controller.admin_read_only', 403],
    ['cloud_controller.global_auditor', 403],
    ['cloud_controller.read', 403],
  ])('a create with only %s answers %i', async (scope, status) => {
    const token = await api.local.issuer.sign({ scopes: [scope] });
    const response = await api.call('POST', `${V3}/security_groups`, {
      body: { name: `by-${scope}` },
      token,
    });
    expect(response.status).toBe(status);
    if (status === 403) expect(cfError(response)).toMatchObject({ code: 10003, title: 'CF-NotAuthorized' });
  });

  it.each([
    'cloud_controller.admin',
    'network.admin',
    'cloud_controller.admin_read_only',
    'cloud_controller.global_auditor',
  ])('reads with %s', async (scope) => {
    const token = await api.local.issuer.sign({ scopes: [scope] });
    expect((await api.call('GET', `${V3}/security_groups`, { token })).status).toBe(200);
  });

  it('answers no token with CF-NotAuthenticated, and v1 keeps its own envelope', async () => {
    expect(cfError(await api.call('GET', `${V3}/security_groups`, { token: null }))).toMatchObject({
      status: 401,
      code: 10002,
      title: 'CF-NotAuthenticated',
    });
    const v1 = await api.call('GET', '/networking/v1/external/destinations', { token: null });
    expect(v1.status).toBe(401);
    expect(v1.body).toHaveProperty('error');
  });
});

describe('GET /v3/security_groups', () => {
  let groups: Group[];
  beforeAll(async () => {
    groups = [];
    for (const [index, running] of [true, false, false, true, false].entries()) {
      groups.push(
        await create({
          name: `listed-${index}`,
          globally_enabled: { running, staging: index === 2 },
          relationships: index === 1 ? { running_spaces: { data: [{ guid: SPACE_B }] } } : {},
        }),
      );
    }
  });

  const names = (page: Page) => page.resources.map((group) => group.name);
  const list = async (query: string) => {
    const response = await api.call('GET', `${V3}/security_groups?${query}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body as Page;
  };

  it('filters by names, guids, globally enabled flags and bound spaces', async () => {
    expect(names(await list('names=listed-0,listed-3,nope'))).toEqual(['listed-0', 'listed-3']);
    expect(names(await list(`guids=${groups[4]?.guid}`))).toEqual(['listed-4']);
    const enabled = names(await list('globally_enabled_running=true&names=listed-0,listed-1,listed-3'));
    expect(enabled).toEqual(['listed-0', 'listed-3']);
    expect(names(await list('globally_enabled_staging=true'))).toContain('listed-2');
    expect(names(await list(`running_space_guids=${SPACE_B}`))).toEqual(['listed-1']);
    // Upper-case guids find the same space (guids are stored lower-case).
    expect(names(await list(`running_space_guids=${SPACE_B.toUpperCase()}`))).toEqual(['listed-1']);
  });

  it('finds a name by its filter in any Unicode normal form (names are stored in NFC)', async () => {
    const decomposed = 'cafe\u0301-egress';
    await create({ name: decomposed });
    expect(names(await list(`names=${encodeURIComponent(decomposed)}`))).toEqual(['café-egress'.normalize('NFC')]);
  });

  it('pages in creation order with CF pagination links that keep the filters', async () => {
    const query = 'names=listed-0,listed-1,listed-2,listed-3,listed-4';
    const first = await list(`${query}&per_page=2`);
    expect(names(first)).toEqual(['listed-0', 'listed-1']);
    expect(first.pagination).toMatchObject({ total_results: 5, total_pages: 3, previous: null });
    const next = new URL(first.pagination.next?.href ?? '');
    expect(next.searchParams.get('page')).toBe('2');
    expect(next.searchParams.get('names')).toBe('listed-0,listed-1,listed-2,listed-3,listed-4');
    const last = await list(`${query}&per_page=2&page=3`);
    expect(names(last)).toEqual(['listed-4']);
    expect(last.pagination.next).toBeNull();
    expect(new URL(last.pagination.previous?.href ?? '').searchParams.get('page')).toBe('2');
    const beyond = await list(`${query}&per_page=2&page=9`);
    expect(beyond.resources).toEqual([]);
    expect(names(await list(`${query}&order_by=-created_at&per_page=2`))).toEqual(['listed-4', 'listed-3']);
  });

  it.each([
    ['per_page=0', 'Per page must be a positive integer'],
    ['per_page=5001', 'Per page must be between 1 and 5000'],
    ['page=0', 'Page must be a positive integer'],
    ['order_by=name', "Order by can only be: 'created_at', 'updated_at'"],
    ['globally_enabled_running=yes', 'Globally enabled running must be a boolean'],
  ])('refuses %s with 422: %s', async (query, detail) => {
    const refused = await api.call('GET', `${V3}/security_groups?${query}`);
    expect(cfError(refused)).toEqual({ status: 422, code: 10008, title: 'CF-UnprocessableEntity', detail });
  });

  it('refuses an unknown parameter with 422 naming it, never listing everything', async () => {
    const refused = await api.call('GET', `${V3}/security_groups?space_guids=${SPACE_A}`);
    expect(cfError(refused)).toMatchObject({ status: 422, code: 10008 });
    expect(cfError(refused).detail).toMatch(
      /^Unknown query parameter\(s\): "space_guids"\. Valid parameters are: 'page'/,
    );
  });
});

describe('PATCH /v3/security_groups/:guid', () => {
  it('replaces rules, merges globally_enabled, renames (freeing the old name)', async () => {
    const group = await create({
      name: 'patched',
      rules: [{ protocol: 'icmp', destination: '10.0.0.1', type: 8, code: 0 }],
      globally_enabled: { running: true, staging: true },
    });
    const patched = await api.call('PATCH', `${V3}/security_groups/${group.guid}`, {
      body: {
        name: 'patched-2',
        globally_enabled: { staging: false },
        rules: [{ protocol: 'udp', destination: '10.0.0.2', ports: '53' }],
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      guid: group.guid,
      name: 'patched-2',
      globally_enabled: { running: true, staging: false },
      rules: [{ protocol: 'udp', destination: '10.0.0.2', ports: '53' }],
      created_at: group.created_at,
    });
    await create({ name: 'patched' });
  });

  it('refuses a bad update whole: nothing changes', async () => {
    const group = await create({ name: 'kept', rules: [publicEgress] });
    const refused = await api.call('PATCH', `${V3}/security_groups/${group.guid}`, {
      body: { name: 'renamed', rules: [{ protocol: 'tcp', destination: '10.0.0.1', ports: '0' }] },
    });
    expect(refused.status).toBe(422);
    expect((await api.call('GET', `${V3}/security_groups/${group.guid}`)).body).toEqual(group);
  });

  it('renames a group to the same name from several requests at once: every one succeeds, as in CF', async () => {
    for (let round = 0; round < 3; round += 1) {
      const group = await create({ name: `race-old-${round}` });
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          api.call('PATCH', `${V3}/security_groups/${group.guid}`, { body: { name: `race-new-${round}` } }),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      expect((await api.call('GET', `${V3}/security_groups/${group.guid}`)).body).toMatchObject({
        name: `race-new-${round}`,
      });
    }
    // A name another group holds is still refused.
    const holder = await create({ name: 'race-held' });
    const other = await create({ name: 'race-other' });
    const taken = await api.call('PATCH', `${V3}/security_groups/${other.guid}`, { body: { name: holder.name } });
    expect(cfError(taken)).toMatchObject({
      status: 422,
      detail: "Security group with name 'race-held' already exists.",
    });
  });

  it('refuses a null name with 422 naming it, and writes nothing', async () => {
    const group = await create({ name: 'null-name' });
    const refused = await api.call('PATCH', `${V3}/security_groups/${group.guid}`, { body: { name: null } });
    expect(cfError(refused)).toMatchObject({ status: 422, code: 10008, detail: 'Name must be a string' });
    expect((await api.call('GET', `${V3}/security_groups/${group.guid}`)).body).toEqual(group);
  });

  it('answers an unknown guid with 404 CF-ResourceNotFound', async () => {
    const missing = await api.call('PATCH', `${V3}/security_groups/${SPACE_A}`, { body: { name: 'x' } });
    expect(cfError(missing)).toMatchObject({ status: 404, code: 10010, title: 'CF-ResourceNotFound' });
  });
});

describe('binding', () => {
  it('binds and unbinds spaces and organisations per lifecycle; the space lists follow', async () => {
    const group = await create({ name: 'trusted_local_networks_egress', rules: [publicEgress] });
    const relationship = (name: string) => `${V3}/security_groups/${group.guid}/relationships/${name}`;
    const bound = await api.call('POST', relationship('running_spaces'), {
      body: { data: [{ guid: SPACE_A }, { guid: SPACE_B }] },
    });
    expect(bound.status).toBe(200);
    expect(bound.body).toEqual({
      data: [{ guid: SPACE_A }, { guid: SPACE_B }].sort((a, b) => a.guid.localeCompare(b.guid)),
      links: { self: { href: `${api.local.url}${relationship('running_spaces')}` } },
    });
    const org = await api.call('POST', relationship('staging_organizations'), { body: { data: [{ guid: ORG }] } });
    expect(org.body).toMatchObject({ data: [{ guid: ORG }] });

    const running = await api.call('GET', `${V3}/spaces/${SPACE_A}/running_security_groups`);
    const runningNames = (running.body as Page).resources.map((g) => g.name);
    expect(runningNames).toContain('trusted_local_networks_egress');
    // As CF does, the space's list shows that space only among the bound ones.
    const shown = (running.body as Page).resources.find((g) => g.guid === group.guid);
    expect(shown?.relationships.running_spaces?.data).toEqual([{ guid: SPACE_A }]);
    const staging = await api.call('GET', `${V3}/spaces/${SPACE_A}/staging_security_groups`);
    expect((staging.body as Page).resources.map((g) => g.guid)).not.toContain(group.guid);

    expect((await api.call('DELETE', `${relationship('running_spaces')}/${SPACE_A}`)).status).toBe(204);
    const again = await api.call('DELETE', `${relationship('running_spaces')}/${SPACE_A}`);
    expect(cfError(again)).toEqual({
      status: 422,
      code: 10008,
      title: 'CF-UnprocessableEntity',
      detail: `Unable to unbind security group from space with guid '${SPACE_A}'. Ensure the space is bound to this security group.`,
    });
    const after = (await api.call('GET', `${V3}/security_groups/${group.guid}`)).body as Group;
    expect(after.relationships).toMatchObject({
      running_spaces: { data: [{ guid: SPACE_B }] },
      staging_organizations: { data: [{ guid: ORG }] },
    });
  });

  it('refuses a bind body without GUIDs, and an unknown relationship is 404', async () => {
    const group = await create({ name: 'bind-checks' });
    const refused = await api.call('POST', `${V3}/security_groups/${group.guid}/relationships/running_spaces`, {
      body: { data: [{ guid: 'backend' }] },
    });
    expect(cfError(refused)).toMatchObject({ status: 422, code: 10008 });
    // An empty list is blank, as CF's to-many relationship message says.
    const empty = await api.call('POST', `${V3}/security_groups/${group.guid}/relationships/running_spaces`, {
      body: { data: [] },
    });
    expect(cfError(empty)).toMatchObject({ status: 422, code: 10008, detail: "Data can't be blank" });
    const unknown = await api.call('POST', `${V3}/security_groups/${group.guid}/relationships/everyone`, {
      body: { data: [] },
    });
    expect(unknown.status).toBe(404);
  });
});

describe('DELETE /v3/security_groups/:guid', () => {
  it('answers 202 with a job that reports COMPLETE, frees the name, and a second delete is 404', async () => {
    const group = await create({ name: 'deleted', rules: [publicEgress] });
    const deleted = await api.call('DELETE', `${V3}/security_groups/${group.guid}`);
    expect(deleted.status).toBe(202);
    const location = deleted.headers.get('location') ?? '';
    expect(location).toMatch(new RegExp(`^${api.local.url}${V3}/jobs/[0-9a-f-]{36}$`));
    const job = await api.call('GET', new URL(location).pathname);
    expect(job).toMatchObject({
      status: 200,
      body: { operation: 'security_group.delete', state: 'COMPLETE', errors: [], warnings: [] },
    });
    expect((await api.call('GET', `${V3}/security_groups/${group.guid}`)).status).toBe(404);
    expect((await api.call('DELETE', `${V3}/security_groups/${group.guid}`)).status).toBe(404);
    await create({ name: 'deleted' });
    expect(cfError(await api.call('GET', `${V3}/jobs/${SPACE_A}`))).toMatchObject({ status: 404, code: 10010 });
  });
});
