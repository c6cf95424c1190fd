// The verifier against a real JWKS served over loopback HTTP, with tokens signed every wrong way.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../../lambdas/api/http-errors.js';
import {
  authorizeScopes,
  CLOCK_SKEW_SECONDS,
  createJwtVerifier,
  type JwtVerifier,
  tokenScopes,
} from '../../../local/api/jwt-verifier.js';

const ISSUER = 'https://uaa.example.test/oauth/token';
const AUDIENCE = 'network-policy';

let server: Server;
let verify: JwtVerifier;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let trusted: PrivateKey;
let stranger: PrivateKey;

async function token(
  key: PrivateKey | Uint8Array,
  options: {
    alg?: string;
    /** null: no kid in the header. */
    kid?: string | null;
    iss?: string;
    aud?: string;
    exp?: number;
    iat?: number;
    nbf?: number;
    scope?: unknown;
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const alg = options.alg ?? 'RS256';
  const jwt = new SignJWT({ scope: options.scope ?? ['network.admin'] })
    .setProtectedHeader(options.kid === null ? { alg } : { alg, kid: options.kid ?? 'trusted' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 600);
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(key);
}

async function reason(header: string | undefined): Promise<string> {
  const error = await verify(header).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  expect((error as UnauthorizedError).statusCode).toBe(401);
  return (error as Error).message;
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  trusted = pair.privateKey;
  stranger = (await generateKeyPair('RS256')).privateKey;
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'trusted', alg: 'RS256' }] };
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  verify = createJwtVerifier({ jwksUrl: new URL(`http://127.0.0.1:${port}/jwks`), issuer: ISSUER, audience: AUDIENCE });
});

afterAll(() => {
  server?.close();
});

describe('createJwtVerifier', () => {
  it('accepts a token of the trusted issuer and returns its claims', async () => {
    const claims = await verify(`Bearer ${await token(trusted)}`);
    expect(claims).toMatchObject({ iss: ISSUER, scope: ['network.admin'] });
  });

  it('refuses missing and malformed headers', async () => {
    expect(await reason(undefined)).toMatch(/missing bearer token/);
    expect(await reason('Basic abc')).toMatch(/Bearer <token>/);
    expect(await reason('Bearer not.a.jwt')).toMatch(/malformed/);
  });

  it('refuses a token signed by another key, even under the trusted kid', async () => {
    expect(await reason(`Bearer ${await token(stranger)}`)).toMatch(/signature/);
    expect(await reason(`Bearer ${await token(stranger, { kid: 'unknown' })}`)).toMatch(/known key/);
  });

  it('refuses HMAC tokens: only RSA signatures are accepted, as by API Gateway', async () => {
    expect(await reason(`Bearer ${await token(new TextEncoder().encode('x'.repeat(32)), { alg: 'HS256' })}`)).toMatch(
      /algorithm/,
    );
  });

  it('refuses expired tokens and the wrong issuer or audience', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    expect(await reason(`Bearer ${await token(trusted, { exp: past })}`)).toBe('token expired');
    expect(await reason(`Bearer ${await token(trusted, { iss: 'https://evil.test' })}`)).toMatch(/iss/);
    expect(await reason(`Bearer ${await token(trusted, { aud: 'other' })}`)).toMatch(/aud/);
  });

  it('refuses a token without exp, as API Gateway does', async () => {
    const noExpiry = await new SignJWT({ scope: ['network.admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'trusted' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(trusted);
    expect(await reason(`Bearer ${noExpiry}`)).toMatch(/exp/);
  });

  it('checks client_id only when the token has no aud, as Cognito access tokens do not', async () => {
    const cognito = (claims: Record<string, unknown>) =>
      new SignJWT({ scope: 'network.admin', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'trusted' })
        .setIssuer(ISSUER)
        .setExpirationTime('10m')
        .sign(trusted);
    expect(await verify(`Bearer ${await cognito({ client_id: AUDIENCE })}`)).toMatchObject({ client_id: AUDIENCE });
    expect(await reason(`Bearer ${await cognito({ client_id: 'other' })}`)).toMatch(/aud/);
    expect(await reason(`Bearer ${await cognito({})}`)).toMatch(/aud/);
    // aud wins when both are present.
    expect(await reason(`Bearer ${await cognito({ aud: 'other', client_id: AUDIENCE })}`)).toMatch(/aud/);
  });

  it('refuses a token without kid, though the JWKS has one key only, as API Gateway does', async () => {
    expect(await reason(`Bearer ${await token(trusted, { kid: null })}`)).toBe('token has no kid in its header');
    expect(await reason(`Bearer ${await token(trusted, { kid: '' })}`)).toBe('token has no kid in its header');
  });

  it('refuses a kid the issuer has no key for, even when the trusted key signed it', async () => {
    expect(await reason(`Bearer ${await token(trusted, { kid: 'other' })}`)).toBe(
      'token was not signed by a known key',
    );
  });

  it(`refuses a token issued in the future beyond ${CLOCK_SKEW_SECONDS} s, and accepts one within`, async () => {
    const now = Math.floor(Date.now() / 1000);
    const tenYears = 10 * 365 * 24 * 3600;
    expect(await reason(`Bearer ${await token(trusted, { iat: now + tenYears, exp: now + tenYears + 600 })}`)).toBe(
      'token is issued in the future (iat)',
    );
    expect(await reason(`Bearer ${await token(trusted, { iat: now + CLOCK_SKEW_SECONDS + 5 })}`)).toMatch(/iat/);
    expect(await verify(`Bearer ${await token(trusted, { iat: now + 30 })}`)).toMatchObject({ iat: now + 30 });
  });

  it('honours nbf with the same allowance, and gives exp none', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await reason(`Bearer ${await token(trusted, { nbf: now + 3600 })}`)).toBe(
      'token is not valid yet (nbf is in the future)',
    );
    expect(await verify(`Bearer ${await token(trusted, { nbf: now + 30 })}`)).toMatchObject({ nbf: now + 30 });
    expect(await verify(`Bearer ${await token(trusted, { nbf: now - 30 })}`)).toMatchObject({ nbf: now - 30 });
    // jose would allow this one with its clock tolerance; API Gateway would not.
    expect(await reason(`Bearer ${await token(trusted, { exp: now - 5 })}`)).toBe('token expired');
  });
});

describe('tokenScopes and authorizeScopes', () => {
  it('read a scope string as exact space-separated scopes', () => {
    expect([...tokenScopes({ scope: 'openid network.admin' })]).toEqual(['openid', 'network.admin']);
    expect([...tokenScopes({ scope: 'x,network.admin' })]).toEqual(['x,network.admin']);
    expect([...tokenScopes({ scp: 'a  b' })]).toEqual(['a', 'b']);
  });

  it('read an array as exact elements, never splitting one on commas or spaces', () => {
    expect([...tokenScopes({ scope: ['x,network.admin'] })]).toEqual(['x,network.admin']);
    expect([...tokenScopes({ scope: ['x network.admin'] })]).toEqual(['x network.admin']);
    expect([...tokenScopes({ scp: ['network.admin', 7, null, 'openid'] })]).toEqual(['network.admin', 'openid']);
    expect([...tokenScopes({ scope: { network: 'admin' } })]).toEqual([]);
  });

  it('grant a route when the token carries one of its scopes, from scope or scp', () => {
    expect(authorizeScopes({ scope: ['openid', 'network.admin'] }, ['network.admin'])).toEqual(['network.admin']);
    expect(authorizeScopes({ scope: 'openid network.admin' }, ['network.admin'])).toEqual(['network.admin']);
    expect(authorizeScopes({ scp: ['network.admin'] }, ['network.admin', 'other'])).toEqual(['network.admin']);
    expect(authorizeScopes({}, [])).toEqual([]);
  });

  it.each([
    ['a comma-smuggled array element', { scope: ['x,network.admin'] }],
    ['a space-smuggled array element', { scope: ['x network.admin'] }],
    ['a comma-separated string', { scope: 'x,network.admin' }],
    ['a bracketed string', { scope: '[network.admin]' }],
    ['no scope at all', {}],
  ])('refuse %s with 403 insufficient_scope', (_label, payload) => {
    const error = (() => {
      try {
        authorizeScopes(payload, ['network.admin']);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toMatchObject({
      statusCode: 403,
      message: 'token lacks the required scope network.admin',
      headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="network.admin"' },
    });
  });
});
