// The deployed handler is the code local mode runs: GIVEN the bundle exactly as `cdk synth` stages it
// for Lambda (RouteFunction's esbuild settings), WHEN it is imported and called with an HTTP API payload
// 2.0 event carrying JWT authorizer claims, THEN it answers like the API does. Needs DynamoDB Local.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../lambdas/api/openapi/document.js';
import { DEPLOYED_ROUTES, type DeployedRoute } from '../../lambdas/api/route-functions.js';
import type { RouteDefinition, RouteName } from '../../lambdas/api/routes.js';
import { RouteFunction } from '../../lib/route-function.js';
import { PolicyStore } from '../../lib/store.js';
import { createTestTable } from '../helpers/ddb.js';
import { testApp } from './synth.js';

interface ApiResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}
const execFileAsync = promisify(execFile);

const outdir = mkdtempSync(join(tmpdir(), 'dynamic-egress-bundle-'));
const bundles = new Map<RouteName, string>();

function route(name: RouteName): DeployedRoute {
  const found = DEPLOYED_ROUTES.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no route ${name}`);
  return found;
}

/** Node's ESM loader importing index.mjs, as Lambda's runtime does (the runner lives in the child). */
const RUNNER = `
const [file, event] = [process.argv[1], JSON.parse(process.argv[2])];
const { handler } = await import(file);
process.stdout.write(JSON.stringify(await handler(event, {})));
`;

/** Invokes a bundle in a fresh `node` process (what a cold Lambda does), with this process's env. */
async function invoke(name: RouteName, event: unknown): Promise<ApiResult> {
  const file = bundles.get(name);
  if (!file) throw new Error(`no bundle for ${name}`);
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '--eval', RUNNER, pathToFileURL(file).href, JSON.stringify(event)],
    { env: process.env, timeout: 30_000 },
  );
  return JSON.parse(stdout) as ApiResult;
}

function apiEvent(definition: RouteDefinition, claims: Record<string, string>, body?: unknown) {
  const routeKey = `${definition.method} ${definition.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: definition.path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', authorization: 'Bearer <verified by API Gateway>' },
    requestContext: {
      accountId: '111111111111',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: definition.method,
        path: definition.path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'vitest',
      },
      requestId: 'req-1',
      routeKey,
      stage: '$default',
      time: '24/Nov/2026:10:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
      // What HttpJwtAuthorizer hands the integration: claims as strings, arrays rendered "[a b]".
      authorizer: { jwt: { claims, scopes: null } },
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  };
}

const adminClaims = {
  iss: 'https://uaa.example.com/oauth/token',
  sub: 'admin-user',
  client_id: 'cf',
  scope: '[openid network.admin]',
};

beforeAll(async () => {
  const table = await createTestTable();
  process.env.TABLE_NAME = table.tableName;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = table.endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';

  // GIVEN three functions bundled by the real construct (bundling runs while constructing).
  const app = testApp({ bundling: true, outdir });
  const stack = new Stack(app, 'Bundles');
  const store = new PolicyStore(stack, 'Store');
  for (const name of ['create-destinations', 'list-destinations', 'get-openapi'] as const) {
    const routeFunction = new RouteFunction(stack, name, { route: route(name), table: store.table });
    const asset = routeFunction.function.node.findChild('Code') as Asset;
    bundles.set(name, join(outdir, asset.assetPath, 'index.mjs'));
  }
}, 120_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('bundled handler', () => {
  it('is one minified ESM file with a source map', () => {
    for (const file of bundles.values()) {
      expect(statSync(file).size).toBeGreaterThan(1000);
      expect(statSync(`${file}.map`).size).toBeGreaterThan(1000);
    }
  });

  it('creates destinations (201) and lists them (200) in the Cloud Foundry shape', async () => {
    const destination = {
      name: 'bundled-db',
      description: 'made by the bundled handler test',
      ips: [{ start: '10.0.0.1', end: '10.0.0.9' }],
      ports: [{ start: 5432, end: 5432 }],
      protocol: 'tcp',
    };
    const created = await invoke(
      'create-destinations',
      apiEvent(route('create-destinations'), adminClaims, { destinations: [destination] }),
    );
    expect(created.statusCode, created.body).toBe(201);
    const createdBody = JSON.parse(created.body) as { total_destinations: number; destinations: { id: string }[] };
    expect(createdBody).toMatchObject({
      total_destinations: 1,
      destinations: [{ ...destination, id: expect.any(String) }],
    });

    const listed = await invoke('list-destinations', apiEvent(route('list-destinations'), adminClaims));
    expect(listed.statusCode, listed.body).toBe(200);
    expect(JSON.parse(listed.body)).toEqual(createdBody);
  });

  it('refuses a token without the network.admin scope (403) with an error body', async () => {
    const answer = await invoke(
      'create-destinations',
      apiEvent(route('create-destinations'), { ...adminClaims, scope: '[openid]' }, { destinations: [] }),
    );
    expect(answer.statusCode).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({ error: expect.stringContaining('network.admin') });
  });

  it('serves the OpenAPI document without a token: the event of a route with no authorizer has no claims', async () => {
    const { requestContext, ...event } = apiEvent(route('get-openapi'), {});
    const { authorizer: _none, ...withoutAuthorizer } = requestContext;
    const answer = await invoke('get-openapi', { ...event, requestContext: withoutAuthorizer });
    expect(answer.statusCode, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(openApiDocument());
  });
});
