// Local mode on a fresh table of the run's DynamoDB Local, with a throwaway issuer key, for tests
// that talk HTTP to the real server. Every response `call` receives is checked against the OpenAPI
// document (openapi-responses.ts): a status the route does not declare, or a body its schema
// refuses, fails the call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalMode, startLocalMode } from '../../local/local-mode.js';
import { createTestTable } from './ddb.js';
import { responseChecker } from './openapi-responses.js';

export interface ApiCall {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

export interface TestApi {
  readonly local: LocalMode;
  readonly adminToken: string;
  call(
    method: string,
    path: string,
    options?: { body?: unknown; rawBody?: string; token?: string | null },
  ): Promise<ApiCall>;
  stop(): Promise<void>;
}

export const API = '/networking/v1/external';

export async function startTestApi(): Promise<TestApi> {
  const table = await createTestTable();
  const stateDir = mkdtempSync(join(tmpdir(), 'egress-test-'));
  const local = await startLocalMode({
    stateDir,
    port: 0,
    dynamodbEndpoint: table.endpoint,
    tableName: table.tableName,
  });
  const adminToken = await local.issuer.sign();
  const openApi = responseChecker();
  return {
    local,
    adminToken,
    async call(method, path, options = {}) {
      const token = options.token === undefined ? adminToken : options.token;
      const response = await fetch(`${local.url}${path}`, {
        method,
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
        ...(options.rawBody !== undefined
          ? { body: options.rawBody }
          : options.body !== undefined
            ? { body: JSON.stringify(options.body) }
            : {}),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Leave non-JSON bodies as text so assertions show them.
      }
      const call = { status: response.status, headers: response.headers, body };
      openApi.check(method, path, call);
      return call;
    },
    async stop() {
      await local.stop();
      table.client.destroy();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
