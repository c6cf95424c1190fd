// The Lambda wrapper on its own: claims as API Gateway passes them, and the error edge.
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../core/domain/errors.js';
import { jsonLineLog } from '../../../core/log.js';
import { createApiHandler } from '../../../lambdas/api/api-handler.js';
import { API_PREFIX } from '../../../lambdas/api/routes.js';
import type { ApiDependencies, ApiEvent } from '../../../lambdas/api/types.js';

// These operations never touch the store.
const noStore = (): ApiDependencies => ({}) as ApiDependencies;

function event(
  claims: Record<string, unknown> | undefined,
  body?: string,
  extra: Partial<Pick<ApiEvent, 'routeKey' | 'queryStringParameters'>> = {},
): ApiEvent {
  return {
    version: '2.0',
    routeKey: 'GET /x',
    ...extra,
    rawPath: '/x',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    ...(body !== undefined ? { body } : {}),
    requestContext: { requestId: 'r', ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}) },
  } as unknown as ApiEvent;
}

describe('createApiHandler', () => {
  const ok = createApiHandler(async (request) => ({ statusCode: 200, body: { echo: request.body } }), noStore);

  it('serves a token whose scope API Gateway rendered as "[a b]"', async () => {
    const response = await ok(event({ scope: '[openid network.admin]' }, '{"a":1}'));
    expect(response).toMatchObject({ statusCode: 200, body: '{"echo":{"a":1}}' });
  });

  it('answers 401 without claims and 403 without the scope', async () => {
    expect((await ok(event(undefined))).statusCode).toBe(401);
    expect((await ok(event({ scope: 'openid' }))).statusCode).toBe(403);
  });

  it('maps domain errors to their status and hides internal ones', async () => {
    const notFound = createApiHandler(async () => {
      throw new NotFoundError('destination not found: x', ['x']);
    }, noStore);
    expect(await notFound(event({ scp: 'network.admin' }))).toMatchObject({
      statusCode: 404,
      body: '{"error":"destination not found: x"}',
    });
    const logged: string[] = [];
    const log = jsonLineLog({ service: 'test', write: (line) => logged.push(line) });
    const broken = createApiHandler(
      async () => {
        throw new Error('secret table name in a stack trace');
      },
      noStore,
      log,
    );
    expect(await broken(event({ scp: 'network.admin' }))).toMatchObject({
      statusCode: 500,
      body: '{"error":"internal server error"}',
    });
    // The details go to the log, in the project's one line shape, and only there.
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'request failed',
        service: 'test',
        route: 'GET /x',
        requestId: 'r',
        error: expect.objectContaining({ name: 'Error', message: 'secret table name in a stack trace' }),
      }),
    ]);
  });

  const admin = { scp: 'network.admin' };

  it('refuses query parameters the route table does not list for the route, after auth', async () => {
    const listDestinations = { routeKey: `GET ${API_PREFIX}/destinations` };
    expect(
      await ok(event(admin, undefined, { ...listDestinations, queryStringParameters: { name: 'a', id: 'b' } })),
    ).toMatchObject({ statusCode: 200 });
    expect(
      await ok(event(admin, undefined, { ...listDestinations, queryStringParameters: { names: 'a' } })),
    ).toMatchObject({
      statusCode: 400,
      body: JSON.stringify({ error: 'unknown query parameter(s) "names" (known: id, name)' }),
    });
    // A route the table does not know reads no parameters.
    expect(await ok(event(admin, undefined, { queryStringParameters: { a: '1' } }))).toMatchObject({
      statusCode: 400,
      body: JSON.stringify({ error: 'unknown query parameter(s) "a" (this route takes none)' }),
    });
    expect((await ok(event(undefined, undefined, { queryStringParameters: { a: '1' } }))).statusCode).toBe(401);
  });

  it('gives operations the settings, read from the environment when the handler is made', async () => {
    const echo = (settings?: Parameters<typeof createApiHandler>[3]) =>
      createApiHandler(
        async (_request, _deps, given) => ({ statusCode: 200, body: given }),
        noStore,
        undefined,
        settings,
      );
    expect((await echo()(event(admin))).body).toBe('{"sourceIds":"guid"}');
    expect((await echo({ sourceIds: 'identifier' })(event(admin))).body).toBe('{"sourceIds":"identifier"}');
    const before = process.env.EGRESS_SOURCE_IDS;
    try {
      process.env.EGRESS_SOURCE_IDS = 'identifier';
      const made = echo();
      process.env.EGRESS_SOURCE_IDS = 'guid';
      expect((await made(event(admin))).body).toBe('{"sourceIds":"identifier"}');
      process.env.EGRESS_SOURCE_IDS = 'uuid';
      expect(() => echo()).toThrow('EGRESS_SOURCE_IDS must be guid or identifier, got "uuid"');
    } finally {
      if (before === undefined) delete process.env.EGRESS_SOURCE_IDS;
      else process.env.EGRESS_SOURCE_IDS = before;
    }
  });
});
