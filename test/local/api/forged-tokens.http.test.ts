// Forged tokens against the real local server: signed with the local issuer's own key (read from the
// state folder, as a thief of that file could), each wrong in one way API Gateway's JWT authorizer
// checks. Every one is refused before a handler runs; the well-formed ones still pass.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../../local/api/issuer.js';
import { type LocalMode, startLocalMode } from '../../../local/local-mode.js';
import { createTestTable, type TestTable } from '../../helpers/ddb.js';

const LIST = '/networking/v1/external/destinations';
const TEN_YEARS = 10 * 365 * 24 * 3600;

let table: TestTable;
let stateDir: string;
let local: LocalMode;
let privateJwk: JWK;

beforeAll(async () => {
  table = await createTestTable();
  stateDir = mkdtempSync(join(tmpdir(), 'egress-forged-'));
  local = await startLocalMode({ stateDir, port: 0, dynamodbEndpoint: table.endpoint, tableName: table.tableName });
  privateJwk = JSON.parse(readFileSync(join(stateDir, 'issuer-key.json'), 'utf8')) as JWK;
});

afterAll(async () => {
  await local?.stop();
  table?.client.destroy();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

interface Forgery {
  /** null: no kid at all. @default the issuer's kid */
  readonly kid?: string | null;
  readonly iat?: number;
  readonly nbf?: number;
  readonly exp?: number;
  readonly scope?: unknown;
  readonly scp?: unknown;
}

/** A token signed with the issuer's real key. */
async function forge(forgery: Forgery = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const kid = forgery.kid === undefined ? privateJwk.kid : forgery.kid;
  const claims: Record<string, unknown> = { scope: forgery.scope ?? ['network.admin'], client_id: 'local-admin' };
  if (forgery.scp !== undefined) claims.scp = forgery.scp;
  const jwt = new SignJWT(claims)
    .setProtectedHeader(kid === null ? { alg: 'RS256' } : { alg: 'RS256', kid })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setSubject('forger')
    .setIssuedAt(forgery.iat ?? now)
    .setExpirationTime(forgery.exp ?? now + 600);
  if (forgery.nbf !== undefined) jwt.setNotBefore(forgery.nbf);
  return jwt.sign(await importJWK(privateJwk, 'RS256'));
}

async function get(token: string): Promise<{ status: number; error?: string; challenge: string | null }> {
  const response = await fetch(`${local.url}${LIST}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { error?: string };
  return { status: response.status, ...body, challenge: response.headers.get('www-authenticate') };
}

describe('forged tokens through the local HTTP API', () => {
  it('accepts the issuer’s own tokens and well-formed forgeries of them', async () => {
    expect((await get(await local.issuer.sign())).status).toBe(200);
    expect((await get(await forge())).status).toBe(200);
    expect((await get(await forge({ scope: 'openid network.admin' }))).status).toBe(200);
    expect((await get(await forge({ scope: [], scp: ['network.admin'] }))).status).toBe(200);
  });

  it.each<[string, Forgery, string]>([
    ['no kid in the header', { kid: null }, 'token has no kid in its header'],
    ['a kid the issuer has no key for', { kid: 'local-someone-else' }, 'token was not signed by a known key'],
    [
      'iat ten years ahead',
      { iat: Math.floor(Date.now() / 1000) + TEN_YEARS, exp: Math.floor(Date.now() / 1000) + TEN_YEARS + 600 },
      'token is issued in the future (iat)',
    ],
    [
      'nbf an hour ahead',
      { nbf: Math.floor(Date.now() / 1000) + 3600 },
      'token is not valid yet (nbf is in the future)',
    ],
    ['exp just passed', { exp: Math.floor(Date.now() / 1000) - 2 }, 'token expired'],
  ])('answers 401 for %s', async (_label, forgery, message) => {
    const result = await get(await forge(forgery));
    expect(result).toMatchObject({ status: 401, error: message });
    expect(result.challenge).toMatch(/^Bearer error="invalid_token"/);
  });

  it.each<[string, Forgery]>([
    ['a comma-smuggled scope in an array', { scope: ['x,network.admin'] }],
    ['a space-smuggled array element', { scope: ['x network.admin'] }],
    ['a comma-separated scope string', { scope: 'x,network.admin' }],
    ['a comma-smuggled scp element', { scope: [], scp: ['openid,network.admin'] }],
  ])('answers 403 for %s, as no exact scope is network.admin', async (_label, forgery) => {
    expect(await get(await forge(forgery))).toEqual({
      status: 403,
      error: 'token lacks the required scope network.admin',
      challenge: 'Bearer error="insufficient_scope", scope="network.admin"',
    });
  });

  it('the issuer’s tokens with a smuggled scope are refused the same way', async () => {
    expect((await get(await local.issuer.sign({ scopes: ['x,network.admin'] }))).status).toBe(403);
    expect((await get(await local.issuer.sign({ scopes: ['x network.admin'] }))).status).toBe(403);
  });
});
