// The verifier against a real JWKS served over loopback HTTP, with tokens signed every wrong way.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../../lambdas/api/http-errors.js';
import { createJwtVerifier, type JwtVerifier } from '../../../local/api/jwt-verifier.js';

const ISSUER = 'https://uaa.example.test/oauth/token';
const AUDIENCE = 'network-policy';

let server: Server;
let verify: JwtVerifier;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let trusted: PrivateKey;
let stranger: PrivateKey;

async function token(
  key: PrivateKey | Uint8Array,
  options: { alg?: string; kid?: string; iss?: string; aud?: string; exp?: number; scope?: unknown } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: options.scope ?? ['network.admin'] })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'trusted' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 600)
    .sign(key);
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
});
