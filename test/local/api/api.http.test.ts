// The CF-compatible API over real HTTP, served by local mode on DynamoDB Local.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../lambdas/api/openapi/document.js';
import { API, startTestApi, type TestApi } from '../../helpers/local-api.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});

afterAll(async () => {
  await api?.stop();
});

const mysql = {
  name: 'MySQL',
  description: 'Demo',
  ips: [{ start: '23.96.35.235', end: '23.96.35.235' }],
  ports: [{ start: 80, end: 80 }],
  protocol: 'tcp',
};

/** A CF app's and a space's GUID, as `cf app <name> --guid` prints them. */
const APP_GUID = '887757be-5eda-48ce-b427-79dcc0705e91';
const SPACE_GUID = '5ae0b4b4-1c4f-4c4e-9c43-1b2a2d5b6f70';

interface Destination {
  id: string;
  name: string;
  description?: string;
}

async function createDestination(destination: Record<string, unknown>): Promise<Destination> {
  const created = await api.call('POST', `${API}/destinations`, { body: { destinations: [destination] } });
  expect(created.status).toBe(201);
  return (created.body as { destinations: Destination[] }).destinations[0] as Destination;
}

describe('destinations', () => {
  it('walks the blog scenario: create, find by name, point a policy at it, move it', async () => {
    const created = await api.call('POST', `${API}/destinations`, { body: { destinations: [mysql] } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ total_destinations: 1, destinations: [{ id: expect.any(String), ...mysql }] });
    const id = (created.body as { destinations: Destination[] }).destinations[0]?.id;

    const byName = await api.call('GET', `${API}/destinations?name=MySQL`);
    expect(byName.body).toMatchObject({ total_destinations: 1, destinations: [{ id, name: 'MySQL' }] });

    const policy = {
      source: { type: 'app', id: '887757be-5eda-48ce-b427-79dcc0705e91' },
      destination: { id },
    };
    const createdPolicy = await api.call('POST', `${API}/egress_policies`, { body: { egress_policies: [policy] } });
    expect(createdPolicy.status).toBe(201);
    expect(createdPolicy.body).toEqual({
      total_egress_policies: 1,
      egress_policies: [{ id: expect.any(String), source: policy.source, destination: { id, ...mysql } }],
    });

    const moved = { id, ...mysql, ips: [{ start: '216.58.195.78', end: '216.58.195.78' }] };
    const updated = await api.call('PUT', `${API}/destinations`, { body: { destinations: [moved] } });
    expect(updated).toMatchObject({ status: 200, body: { total_destinations: 1, destinations: [moved] } });
    const listed = await api.call('GET', `${API}/egress_policies`);
    expect((listed.body as { egress_policies: { destination: unknown }[] }).egress_policies[0]?.destination).toEqual(
      moved,
    );
  });

  it('filters by id and by name with comma lists, but not both at once', async () => {
    const a = await createDestination({ ...mysql, name: 'filter-a' });
    const b = await createDestination({ ...mysql, name: 'filter-b' });
    const byIds = await api.call('GET', `${API}/destinations?id=${a.id},${b.id}`);
    expect((byIds.body as { destinations: Destination[] }).destinations.map((d) => d.name)).toEqual([
      'filter-a',
      'filter-b',
    ]);
    const byNames = await api.call('GET', `${API}/destinations?name=filter-b,missing`);
    expect(byNames.body).toMatchObject({ total_destinations: 1 });
    const both = await api.call('GET', `${API}/destinations?id=${a.id}&name=filter-a`);
    expect(both.status).toBe(400);
    expect((both.body as { error: string }).error).toMatch(/id and name/);
  });

  it('lists a repeated filter value once and matches nothing, without a 5xx, for values that cannot exist', async () => {
    const a = await createDestination({ ...mysql, name: 'filter-repeat' });
    const repeated = await api.call('GET', `${API}/destinations?id=${a.id},${a.id}&id=${a.id}`);
    expect(repeated.body).toMatchObject({ total_destinations: 1, destinations: [{ id: a.id }] });
    const byName = await api.call('GET', `${API}/destinations?name=filter-repeat,filter-repeat`);
    expect(byName.body).toMatchObject({ total_destinations: 1 });
    // Longer than any DynamoDB key may be: the store must never be asked.
    const huge = 'x'.repeat(2000);
    for (const query of [`id=${huge}`, `name=${huge}`, `name=${'\u{1F600}'.repeat(300)}`, 'id=%20bad%20id']) {
      const listed = await api.call('GET', `${API}/destinations?${query}`);
      expect(listed).toMatchObject({ status: 200, body: { total_destinations: 0, destinations: [] } });
    }
  });

  it('answers 400, not 5xx, for a path with broken percent-encoding', async () => {
    const deleted = await api.call('DELETE', `${API}/destinations/%E0%A4%A`);
    expect(deleted.status).toBe(400);
    expect((deleted.body as { error: string }).error).toMatch(/percent-encoding/);
  });

  it('creates icmp destinations without ports', async () => {
    const ping = await createDestination({
      name: 'icmp-any',
      ips: [{ start: '8.8.8.8', end: '8.8.8.8' }],
      protocol: 'icmp',
    });
    expect(ping).toMatchObject({ ports: [], icmp_type: -1, icmp_code: -1 });
  });

  it('refuses duplicate names, in the store and within one request, writing nothing', async () => {
    await createDestination({ ...mysql, name: 'dup-name' });
    const taken = await api.call('POST', `${API}/destinations`, {
      body: {
        destinations: [
          { ...mysql, name: 'dup-new' },
          { ...mysql, name: 'dup-name' },
        ],
      },
    });
    expect(taken.status).toBe(400);
    expect((taken.body as { error: string }).error).toContain('"dup-name"');
    const twice = await api.call('POST', `${API}/destinations`, {
      body: {
        destinations: [
          { ...mysql, name: 'dup-twice' },
          { ...mysql, name: 'dup-twice' },
        ],
      },
    });
    expect(twice.status).toBe(400);
    const left = await api.call('GET', `${API}/destinations?name=dup-new,dup-twice`);
    expect(left.body).toEqual({ total_destinations: 0, destinations: [] });
  });

  it('answers 404 for unknown ids on PUT and DELETE and changes nothing', async () => {
    const known = await createDestination({ ...mysql, name: 'put-known' });
    const put = await api.call('PUT', `${API}/destinations`, {
      body: {
        destinations: [
          { ...mysql, id: known.id, name: 'put-renamed' },
          { ...mysql, id: 'b5a4d1a2-0000-4000-8000-000000000000', name: 'put-ghost' },
        ],
      },
    });
    expect(put.status).toBe(404);
    expect((put.body as { error: string }).error).toContain('b5a4d1a2-0000-4000-8000-000000000000');
    const after = await api.call('GET', `${API}/destinations?id=${known.id}`);
    expect(after.body).toMatchObject({ destinations: [{ name: 'put-known' }] });
    expect((await api.call('DELETE', `${API}/destinations/no-such-id`)).status).toBe(404);
    expect((await api.call('DELETE', `${API}/egress_policies/no-such-id`)).status).toBe(404);
    expect((await api.call('DELETE', `${API}/destinations/${'%3B'.repeat(3)}`)).status).toBe(404);
  });

  it('deletes with 200 and the deleted object in the list shape', async () => {
    const gone = await createDestination({ ...mysql, name: 'to-delete' });
    const deleted = await api.call('DELETE', `${API}/destinations/${gone.id}`);
    expect(deleted).toMatchObject({ status: 200, body: { total_destinations: 1, destinations: [gone] } });
  });
});

describe('destination names', () => {
  it.each([
    ['an unpaired surrogate', 'lone\ud800', 'an unpaired surrogate (U+D800)'],
    ['a C1 control', 'My\u0085SQL', 'C1 control characters (U+0085)'],
    ['a zero-width space', 'My\u200bSQL', 'zero-width or bidirectional formatting characters (U+200B)'],
    ['a bidi override', 'My\u202eSQL', 'zero-width or bidirectional formatting characters (U+202E)'],
    ['a bidi isolate', 'My\u2067SQL', 'zero-width or bidirectional formatting characters (U+2067)'],
    ['a byte order mark', '\ufeffMySQL', 'zero-width or bidirectional formatting characters (U+FEFF)'],
  ])('refuses a name with %s on POST and PUT, naming the field, and stores nothing', async (label, name, problem) => {
    // JSON.stringify writes a lone surrogate as the escape \ud800, as a client would send it.
    const posted = await api.call('POST', `${API}/destinations`, { body: { destinations: [{ ...mysql, name }] } });
    expect(posted).toMatchObject({ status: 400, body: { error: `destinations[0].name: must not contain ${problem}` } });
    expect(Object.keys(posted.body as object)).toEqual(['error']);
    const known = await createDestination({ ...mysql, name: `names-put ${label}` });
    const put = await api.call('PUT', `${API}/destinations`, {
      body: { destinations: [{ ...mysql, id: known.id, name }] },
    });
    expect(put).toMatchObject({ status: 400, body: { error: `destinations[0].name: must not contain ${problem}` } });
    const all = (await api.call('GET', `${API}/destinations`)).body as { destinations: Destination[] };
    expect(all.destinations.map((d) => d.name)).not.toContain(name);
  });

  it('refuses hidden and reordering characters in a description too, and keeps line breaks and tabs', async () => {
    for (const description of ['pays \u202eredli', 'zero\u200bwidth', 'C1 \u0085 control']) {
      const posted = await api.call('POST', `${API}/destinations`, {
        body: { destinations: [{ ...mysql, name: 'described', description }] },
      });
      expect(posted.status).toBe(400);
      expect((posted.body as { error: string }).error).toMatch(/^destinations\[0\]\.description: must not contain /);
    }
    const kept = await createDestination({ ...mysql, name: 'described', description: 'line one\n\tline two' });
    expect(kept.description).toBe('line one\n\tline two');
  });

  it('stores names in NFC: two spellings of one name collide, and either finds it', async () => {
    const composed = 'Caf\u00e9 names';
    const decomposed = 'Cafe\u0301 names';
    const created = await createDestination({ ...mysql, name: decomposed });
    expect(created.name).toBe(composed);
    const taken = await api.call('POST', `${API}/destinations`, {
      body: { destinations: [{ ...mysql, name: composed }] },
    });
    expect(taken.status).toBe(400);
    expect((taken.body as { error: string }).error).toContain(JSON.stringify(composed));
    const twice = await api.call('POST', `${API}/destinations`, {
      body: {
        destinations: [
          { ...mysql, name: 'Gr\u00fc\u00dfe' },
          { ...mysql, name: 'Gru\u0308\u00dfe' },
        ],
      },
    });
    expect(twice.status).toBe(400);
    expect((twice.body as { error: string }).error).toContain('appears more than once');
    for (const spelling of [composed, decomposed]) {
      const found = await api.call('GET', `${API}/destinations?name=${encodeURIComponent(spelling)}`);
      expect(found.body).toMatchObject({ total_destinations: 1, destinations: [{ id: created.id, name: composed }] });
    }
  });
});

describe('query parameters', () => {
  it.each([
    [
      'GET',
      'egress_policies?destination_id=X',
      '"destination_id"',
      'known: SourceIDs, SourceTypes, DestinationIDs, DestinationNames',
    ],
    ['GET', 'destinations?name=MySQL&names=x', '"names"', 'known: id, name'],
    ['GET', 'destinations?ID=x', '"ID"', 'known: id, name'],
    ['GET', 'cells?cell=a&b=1', '"cell", "b"', 'this route takes none'],
    ['POST', 'destinations?dry_run=true', '"dry_run"', 'this route takes none'],
    ['PUT', 'destinations?x=', '"x"', 'this route takes none'],
    ['DELETE', 'destinations/some-id?force=true', '"force"', 'this route takes none'],
    ['DELETE', 'egress_policies/some-id?cascade', '"cascade"', 'this route takes none'],
  ])('refuses unknown ones on %s %s, naming them', async (method, target, names, takes) => {
    const result = await api.call(method, `${API}/${target}`, {
      ...(method === 'POST' || method === 'PUT' ? { body: { destinations: [{ ...mysql, name: 'query-never' }] } } : {}),
    });
    expect(result).toMatchObject({
      status: 400,
      body: { error: `unknown query parameter(s) ${names} (${takes})` },
    });
    expect(Object.keys(result.body as object)).toEqual(['error']);
  });

  it('writes nothing when a write carries an unknown parameter', async () => {
    await api.call('POST', `${API}/destinations?dry_run=true`, {
      body: { destinations: [{ ...mysql, name: 'query-not-written' }] },
    });
    const found = await api.call('GET', `${API}/destinations?name=query-not-written`);
    expect(found.body).toEqual({ total_destinations: 0, destinations: [] });
  });

  it('keeps the known ones working', async () => {
    const created = await createDestination({ ...mysql, name: 'query-known' });
    const byName = await api.call('GET', `${API}/destinations?name=query-known`);
    expect(byName).toMatchObject({ status: 200, body: { total_destinations: 1, destinations: [{ id: created.id }] } });
    const byId = await api.call('GET', `${API}/destinations?id=${created.id}`);
    expect(byId).toMatchObject({
      status: 200,
      body: { total_destinations: 1, destinations: [{ name: 'query-known' }] },
    });
  });

  it('names a few and counts the rest when there are many, and escapes what it quotes', async () => {
    const many = Array.from({ length: 8 }, (_, i) => `p${i}=1`).join('&');
    const result = await api.call('GET', `${API}/egress_policies?${many}&%1B%5B2J=1`);
    expect((result.body as { error: string }).error).toBe(
      'unknown query parameter(s) "p0", "p1", "p2", "p3", "p4" …and 4 more (known: SourceIDs, SourceTypes, DestinationIDs, DestinationNames)',
    );
    const escaped = await api.call('GET', `${API}/egress_policies?%1B%5B2J=1`);
    expect((escaped.body as { error: string }).error).toBe(
      'unknown query parameter(s) "\\u001b[2J" (known: SourceIDs, SourceTypes, DestinationIDs, DestinationNames)',
    );
  });
});

describe('egress policies', () => {
  it('is idempotent, defaults source.type to app, and deletes with the policy in the list shape', async () => {
    const db = await createDestination({ ...mysql, name: 'pol-db' });
    const body = { egress_policies: [{ source: { id: APP_GUID }, destination: { id: db.id } }] };
    const first = await api.call('POST', `${API}/egress_policies`, { body });
    const again = await api.call('POST', `${API}/egress_policies`, { body });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const policy = (first.body as { egress_policies: { id: string; source: unknown }[] }).egress_policies[0];
    expect(policy?.source).toEqual({ type: 'app', id: APP_GUID });

    const inUse = await api.call('DELETE', `${API}/destinations/${db.id}`);
    expect(inUse.status).toBe(400);
    expect((inUse.body as { error: string }).error).toBe(
      `destination is still in use by egress policies: ${policy?.id}`,
    );

    const deleted = await api.call('DELETE', `${API}/egress_policies/${policy?.id}`);
    expect(deleted).toMatchObject({ status: 200, body: { total_egress_policies: 1, egress_policies: [policy] } });
    expect((await api.call('DELETE', `${API}/destinations/${db.id}`)).status).toBe(200);
  });

  it("filters lists with CF's SourceIDs, SourceTypes, DestinationIDs and DestinationNames", async () => {
    const one = await createDestination({ ...mysql, name: 'filter-one' });
    const two = await createDestination({ ...mysql, name: 'filter-two' });
    const space = 'aa11bb22-cc33-4d44-8e55-ff6677889900';
    const created = await api.call('POST', `${API}/egress_policies`, {
      body: {
        egress_policies: [
          { source: { id: APP_GUID }, destination: { id: one.id } },
          { source: { type: 'space', id: space }, destination: { id: one.id } },
          { source: { type: 'space', id: space }, destination: { id: two.id } },
        ],
      },
    });
    expect(created.status).toBe(201);
    const listed = async (query: string) => {
      const result = await api.call('GET', `${API}/egress_policies?${query}`);
      expect(result.status, JSON.stringify(result.body)).toBe(200);
      const body = result.body as { egress_policies: { source: { id: string }; destination: { name: string } }[] };
      return body.egress_policies.map((policy) => `${policy.source.id}->${policy.destination.name}`).sort();
    };
    expect(await listed(`DestinationNames=filter-two`)).toEqual([`${space}->filter-two`]);
    expect(await listed(`DestinationIDs=${one.id}&SourceTypes=app`)).toEqual([`${APP_GUID}->filter-one`]);
    expect(await listed(`SourceIDs=${space.toUpperCase()}&DestinationIDs=${one.id},${two.id}`)).toEqual([
      `${space}->filter-one`,
      `${space}->filter-two`,
    ]);
    expect(await listed(`SourceIDs=${APP_GUID}&DestinationNames=filter-two`)).toEqual([]);
    const badType = await api.call('GET', `${API}/egress_policies?SourceTypes=org`);
    expect(badType).toMatchObject({
      status: 400,
      body: { error: 'SourceTypes: must be app or space or default, got "org"' },
    });
  });

  it("takes CF's app_lifecycle and default source: one policy per lifecycle, every app without an id", async () => {
    const db = await createDestination({ ...mysql, name: 'lifecycle-db' });
    const create = (policy: Record<string, unknown>) =>
      api.call('POST', `${API}/egress_policies`, {
        body: { egress_policies: [{ destination: { id: db.id }, ...policy }] },
      });
    const staging = await create({ source: { id: APP_GUID }, app_lifecycle: 'staging' });
    expect(staging.status).toBe(201);
    expect(staging.body).toMatchObject({
      egress_policies: [{ source: { type: 'app', id: APP_GUID }, app_lifecycle: 'staging' }],
    });
    // Another lifecycle is another policy; the same one again is the same policy.
    expect((await create({ source: { id: APP_GUID }, app_lifecycle: 'running' })).status).toBe(201);
    expect((await create({ source: { id: APP_GUID }, app_lifecycle: 'staging' })).status).toBe(200);
    // `all` (the default) keeps the shape policies always had: no app_lifecycle in the answer.
    const all = await create({ source: { id: APP_GUID }, app_lifecycle: 'all' });
    expect((all.body as { egress_policies: Record<string, unknown>[] }).egress_policies[0]).not.toHaveProperty(
      'app_lifecycle',
    );
    const everyApp = await create({ source: { type: 'default' } });
    expect(everyApp).toMatchObject({
      status: 201,
      body: { egress_policies: [{ source: { type: 'default', id: '' } }] },
    });
    const withId = await create({ source: { type: 'default', id: APP_GUID } });
    expect(withId).toMatchObject({
      status: 400,
      body: { error: 'egress_policies[0].source.id: must be absent for source type default' },
    });
    const noId = await create({ source: { type: 'app' } });
    expect(noId).toMatchObject({ status: 400, body: { error: 'egress_policies[0].source.id: is required' } });
    const badLifecycle = await create({ source: { id: APP_GUID }, app_lifecycle: 'build' });
    expect(badLifecycle).toMatchObject({
      status: 400,
      body: {
        error: expect.stringMatching(/^egress_policies\[0\]\.app_lifecycle: must be one of running, staging, all/),
      },
    });
    const listed = await api.call('GET', `${API}/egress_policies?SourceTypes=default&DestinationIDs=${db.id}`);
    expect((listed.body as { total_egress_policies: number }).total_egress_policies).toBe(1);
    const mine = await api.call('GET', `${API}/egress_policies?DestinationIDs=${db.id}`);
    expect((mine.body as { total_egress_policies: number }).total_egress_policies).toBe(4);
  });

  it('refuses a source id that is not a GUID, naming the field', async () => {
    const db = await createDestination({ ...mysql, name: 'pol-guid-only' });
    for (const id of ['backend', 'app-guid-1', `${APP_GUID}0`]) {
      const result = await api.call('POST', `${API}/egress_policies`, {
        body: { egress_policies: [{ source: { type: 'app', id }, destination: { id: db.id } }] },
      });
      expect(result).toMatchObject({
        status: 400,
        body: { error: expect.stringMatching(/^egress_policies\[0\]\.source\.id: must be a GUID/) },
      });
    }
    const listed = (await api.call('GET', `${API}/egress_policies`)).body as {
      egress_policies: { destination: { id: string } }[];
    };
    expect(listed.egress_policies.filter((policy) => policy.destination.id === db.id)).toEqual([]);
  });

  it('stores an upper-case GUID in lower case, as one source with the lower-case spelling', async () => {
    const db = await createDestination({ ...mysql, name: 'pol-guid-case' });
    const upper = await api.call('POST', `${API}/egress_policies`, {
      body: {
        egress_policies: [{ source: { type: 'space', id: SPACE_GUID.toUpperCase() }, destination: { id: db.id } }],
      },
    });
    expect(upper).toMatchObject({
      status: 201,
      body: { egress_policies: [{ source: { type: 'space', id: SPACE_GUID } }] },
    });
    const lower = await api.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: [{ source: { type: 'space', id: SPACE_GUID }, destination: { id: db.id } }] },
    });
    expect(lower.status).toBe(200);
  });

  it('refuses unknown destinations naming them', async () => {
    const result = await api.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: [{ source: { type: 'space', id: SPACE_GUID }, destination: { id: 'ghost-dest' } }] },
    });
    expect(result.status).toBe(400);
    expect((result.body as { error: string }).error).toContain('ghost-dest');
  });
});

describe('egress policies with EGRESS_SOURCE_IDS=identifier (non-CF platforms)', () => {
  let identifiers: TestApi;

  beforeAll(async () => {
    // The handlers read the setting when local mode makes them, as a Lambda does at its cold start.
    const before = process.env.EGRESS_SOURCE_IDS;
    process.env.EGRESS_SOURCE_IDS = 'identifier';
    try {
      identifiers = await startTestApi();
    } finally {
      if (before === undefined) delete process.env.EGRESS_SOURCE_IDS;
      else process.env.EGRESS_SOURCE_IDS = before;
    }
  });

  afterAll(async () => {
    await identifiers?.stop();
  });

  it('accepts any identifier as given, and still refuses what is not one', async () => {
    const created = await identifiers.call('POST', `${API}/destinations`, {
      body: { destinations: [{ ...mysql, name: 'ids-db' }] },
    });
    const db = (created.body as { destinations: Destination[] }).destinations[0];
    for (const id of ['backend', 'k8s:ns.default', APP_GUID.toUpperCase()]) {
      const result = await identifiers.call('POST', `${API}/egress_policies`, {
        body: { egress_policies: [{ source: { type: 'app', id }, destination: { id: db?.id } }] },
      });
      expect(result).toMatchObject({ status: 201, body: { egress_policies: [{ source: { type: 'app', id } }] } });
    }
    const bad = await identifiers.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: [{ source: { id: 'rm -rf' }, destination: { id: db?.id } }] },
    });
    expect(bad).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^egress_policies\[0\]\.source\.id: must be 1-128 characters/) },
    });
  });

  it('leaves the other server at the default', async () => {
    const result = await api.call('POST', `${API}/egress_policies`, {
      body: { egress_policies: [{ source: { id: 'backend' }, destination: { id: 'd' } }] },
    });
    expect(result.status).toBe(400);
  });
});

describe('validation', () => {
  it.each([
    ['malformed JSON', 'POST', 'destinations', '{"destinations": [', /invalid JSON/],
    ['no body', 'POST', 'destinations', '', /request body: is required/],
    [
      'wrong shape',
      'POST',
      'destinations',
      '{"destination": []}',
      /unknown field\(s\) "destination"|destinations: is required/,
    ],
    [
      'bad address',
      'POST',
      'destinations',
      JSON.stringify({ destinations: [{ ...mysql, ips: [{ start: '1.2.3.4', end: 'x' }] }] }),
      /destinations\[0\]\.ips\[0\]\.end: must be an IPv4 address/,
    ],
    [
      'bad source type',
      'POST',
      'egress_policies',
      JSON.stringify({ egress_policies: [{ source: { type: 'org', id: 'o' }, destination: { id: 'd' } }] }),
      /source\.type: must be one of app, space/,
    ],
    [
      'missing source id',
      'POST',
      'egress_policies',
      JSON.stringify({ egress_policies: [{ source: {}, destination: { id: 'd' } }] }),
      /source\.id: is required/,
    ],
  ])('answers 400 naming the problem: %s', async (_label, method, resource, rawBody, message) => {
    const result = await api.call(method, `${API}/${resource}`, { rawBody });
    expect(result.status).toBe(400);
    expect(result.headers.get('content-type')).toBe('application/json');
    expect((result.body as { error: string }).error).toMatch(message);
  });

  it('never answers 5xx to random bodies', async () => {
    const samples: unknown[] = [
      null,
      0,
      'x',
      [],
      {},
      { destinations: null },
      { destinations: [null] },
      { destinations: [{ name: {} }] },
      { egress_policies: [{ source: { id: 'a'.repeat(500) }, destination: { id: 1 } }] },
    ];
    const random = (depth: number): unknown => {
      const pick = Math.floor(Math.random() * 7);
      if (depth > 3 || pick === 0) return Math.random() < 0.5 ? Math.floor(Math.random() * 70000) - 2 : null;
      if (pick === 1) return ['tcp', 'udp', 'icmp', '1.2.3.4', '', '-j ACCEPT'][Math.floor(Math.random() * 6)];
      if (pick === 2) return Array.from({ length: Math.floor(Math.random() * 3) }, () => random(depth + 1));
      const keys = [
        'destinations',
        'egress_policies',
        'name',
        'ips',
        'ports',
        'start',
        'end',
        'protocol',
        'source',
        'destination',
        'id',
        'type',
        'icmp_type',
      ];
      return Object.fromEntries(
        Array.from({ length: 1 + Math.floor(Math.random() * 4) }, () => [
          keys[Math.floor(Math.random() * keys.length)],
          random(depth + 1),
        ]),
      );
    };
    for (let i = 0; i < 60; i += 1) samples.push(random(0));
    for (const sample of samples) {
      for (const [method, resource] of [
        ['POST', 'destinations'],
        ['PUT', 'destinations'],
        ['POST', 'egress_policies'],
      ] as const) {
        const result = await api.call(method, `${API}/${resource}`, { body: sample });
        expect(result.status, JSON.stringify(sample)).toBeLessThan(500);
      }
    }
  });
});

describe('auth', () => {
  it('answers 401 with a Bearer challenge without a token or with a bad one', async () => {
    for (const token of [null, 'not-a-jwt', `${api.adminToken}x`]) {
      const result = await api.call('GET', `${API}/destinations`, { token });
      expect(result.status).toBe(401);
      expect(result.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(result.body).toEqual({ error: expect.any(String) });
    }
  });

  it('answers 401 for expired tokens and for the wrong issuer or audience', async () => {
    for (const token of [
      await api.local.issuer.sign({ ttlSeconds: -60 }),
      await api.local.issuer.sign({ issuer: 'someone-else' }),
      await api.local.issuer.sign({ audience: 'another-api' }),
    ]) {
      expect((await api.call('GET', `${API}/egress_policies`, { token })).status).toBe(401);
    }
  });

  it('answers 403 for a valid token without network.admin', async () => {
    const token = await api.local.issuer.sign({ scopes: ['openid', 'cloud_controller.read'] });
    const result = await api.call('POST', `${API}/destinations`, { token, body: { destinations: [mysql] } });
    expect(result).toMatchObject({ status: 403, body: { error: 'token lacks the required scope network.admin' } });
    expect(result.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="network.admin"');
  });

  it('accepts the token with "bearer" in lower case, as cf oauth-token prints it', async () => {
    const response = await fetch(`${api.local.url}${API}/destinations`, {
      headers: { authorization: `bearer ${api.adminToken}` },
    });
    expect(response.status).toBe(200);
  });
});

describe('GET /openapi.json', () => {
  it('serves the OpenAPI document to anyone: no token, a bad one, or one without scopes', async () => {
    const noScopes = await api.local.issuer.sign({ scopes: ['openid'] });
    for (const token of [null, 'not-a-jwt', noScopes, api.adminToken]) {
      const result = await api.call('GET', '/openapi.json', { token });
      expect(result.status).toBe(200);
      expect(result.headers.get('content-type')).toBe('application/json');
      expect(result.body).toEqual(openApiDocument());
    }
  });

  it('refuses a query parameter like every route, in the v1 envelope', async () => {
    const result = await api.call('GET', '/openapi.json?format=yaml', { token: null });
    expect(result).toMatchObject({ status: 400, body: { error: expect.stringContaining('"format"') } });
  });
});
