// The OpenAPI document: valid OpenAPI 3.1 by a real validator, equal to the committed
// docs/openapi.json, complete for every route, and strict enough that the API tests' response
// check (test/helpers/openapi-responses.ts) refuses what the API must not answer.
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  openApiDocument,
  openApiJson,
  refuseFlaggedPatterns,
  SECURITY_SCHEME,
} from '../../../../lambdas/api/openapi/document.js';
import { ROUTES, routeKeyOf } from '../../../../lambdas/api/routes.js';
import { responseChecker } from '../../../helpers/openapi-responses.js';

const COMMITTED = new URL('../../../../docs/openapi.json', import.meta.url);

type Operation = {
  operationId: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
  responses: Record<string, unknown>;
};
const document = openApiDocument();
const paths = document.paths as Record<string, Record<string, Operation>>;
const operationOf = (path: string, method: string): Operation | undefined => paths[path]?.[method.toLowerCase()];

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator), for both source id formats', async () => {
    for (const sourceIds of ['guid', 'identifier'] as const) {
      const result = await new Validator().validate(openApiDocument({ sourceIds }));
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
    }
  });

  it('is checked by a live validator: a copy with a path parameter not marked required is refused', async () => {
    const broken = structuredClone(document) as { paths: Record<string, Record<string, Operation>> };
    const [parameter] = broken.paths['/v3/jobs/{id}']?.get?.parameters ?? [];
    if (parameter) Object.assign(parameter, { required: false });
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('is what docs/openapi.json holds: run `npm run openapi` after changing a route or a schema', () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    expect(committed === openApiJson(), 'docs/openapi.json is stale: run `npm run openapi` and commit it').toBe(true);
  });

  it('describes every route once, with its path parameters, query parameters and scopes', () => {
    const described = Object.values(paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
    expect(described.sort()).toEqual(ROUTES.map((route) => route.name).sort());
    for (const route of ROUTES) {
      const operation = operationOf(route.path, route.method);
      const pathNames = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
      expect(operation?.parameters ?? [], routeKeyOf(route)).toEqual([
        ...pathNames.map((name) => expect.objectContaining({ name, in: 'path', required: true })),
        ...(route.queryParameters ?? []).map((name) => expect.objectContaining({ name, in: 'query' })),
      ]);
      expect(operation?.security, routeKeyOf(route)).toEqual(
        route.scopes.map((scope) => ({ [SECURITY_SCHEME]: [scope] })),
      );
    }
  });

  it('serves only GET /openapi.json without security, and declares no 401 or 403 for it', () => {
    const open = ROUTES.filter((route) => operationOf(route.path, route.method)?.security.length === 0);
    expect(open.map(routeKeyOf)).toEqual(['GET /openapi.json']);
    expect(Object.keys(operationOf('/openapi.json', 'GET')?.responses ?? {})).toEqual(['200', '400', '429', '500']);
  });
});

describe('patterns', () => {
  it('refuses a regex with flags JSON Schema would drop (a case-insensitive GUID would read as lower case only)', () => {
    expect(() => refuseFlaggedPatterns(z.string().check(z.regex(/^[a-f]+$/i)))).toThrow(
      'openapi: the pattern /^[a-f]+$/i has flags JSON Schema cannot carry',
    );
    expect(() => refuseFlaggedPatterns(z.string().check(z.regex(/^[a-fA-F]+$/u)))).not.toThrow();
  });

  it('documents that policy sources may be GUIDs in either case, as the API takes them', () => {
    expect(openApiJson()).toContain('^[0-9a-fA-F]{8}-');
  });
});

describe('the response check of the API tests', () => {
  const check = responseChecker(document);
  const headers = new Headers();
  const list = {
    total_destinations: 1,
    destinations: [
      {
        id: 'd1',
        name: 'db',
        ips: [{ start: '10.0.0.1', end: '10.0.0.1' }],
        ports: [{ start: 5432, end: 5432 }],
        protocol: 'tcp',
      },
    ],
  };
  const path = '/networking/v1/external/destinations';

  it('passes a response the document declares', () => {
    expect(() => check.check('GET', `${path}?name=db`, { status: 200, headers, body: list })).not.toThrow();
    const error = { errors: [{ code: 10010, title: 'CF-ResourceNotFound', detail: 'Security group not found' }] };
    expect(() => check.check('GET', '/v3/security_groups/x', { status: 404, headers, body: error })).not.toThrow();
  });

  it('fails a body its schema refuses, naming the route, the field and the schema', () => {
    const wrong = { ...list, total_destinations: '1' };
    expect(() => check.check('GET', path, { status: 200, headers, body: wrong })).toThrow(
      /GET \/networking\/v1\/external\/destinations answered 200 with a body that does not match #\/components\/schemas\/DestinationList: \/total_destinations must be integer/,
    );
    const v3Error = { error: 'v1 envelope on a V3 route' };
    expect(() => check.check('GET', '/v3/security_groups/x', { status: 404, headers, body: v3Error })).toThrow(
      /CfErrors/,
    );
  });

  it('fails a status the route does not declare, a body where none is declared, and a missing declared header', () => {
    expect(() => check.check('GET', path, { status: 201, headers, body: list })).toThrow(
      'OpenAPI: GET /networking/v1/external/destinations answered 201, a status it does not declare',
    );
    expect(() =>
      check.check('DELETE', '/v3/security_groups/g/relationships/running_spaces/s', {
        status: 204,
        headers,
        body: { x: 1 },
      }),
    ).toThrow('with a body, but declares none');
    expect(() => check.check('DELETE', '/v3/security_groups/g', { status: 202, headers, body: '' })).toThrow(
      'without its declared header location',
    );
  });

  it('leaves requests that reach no route to the tests (the gateway answers 404 or 405 itself)', () => {
    expect(() => check.check('GET', '/nowhere', { status: 404, headers, body: { error: 'no route' } })).not.toThrow();
  });
});
