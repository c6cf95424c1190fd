// The local token issuer: an RSA key made on first use and kept in the local state folder (never in
// git), a JWKS for the verifier, and signed tokens shaped like UAA's (scope as a list).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

export const LOCAL_ISSUER = 'dynamic-egress-local';
export const LOCAL_AUDIENCE = 'dynamic-egress';
export const LOCAL_JWKS_PATH = '/local-issuer/.well-known/jwks.json';
/** The issuer's private key in the state folder; egressctl mints tokens only when it exists. */
export const ISSUER_KEY_FILE = 'issuer-key.json';
const ALGORITHM = 'RS256';

export interface LocalIssuer {
  readonly jwks: { keys: JWK[] };
  sign(options?: SignOptions): Promise<string>;
}

export interface SignOptions {
  /** Scopes to carry; default network.admin. */
  readonly scopes?: readonly string[];
  /** Lifetime in seconds; default one hour. Negative values make an already expired token (tests). */
  readonly ttlSeconds?: number;
  readonly subject?: string;
  readonly audience?: string;
  readonly issuer?: string;
}

async function loadOrCreateKey(dir: string): Promise<JWK> {
  const file = join(dir, ISSUER_KEY_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `local-${Date.now().toString(36)}`, alg: ALGORITHM, use: 'sig' };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
    return jwk;
  } catch (error) {
    // Another process (npm start vs. npm run token) made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  }
}

export async function openLocalIssuer(stateDir: string): Promise<LocalIssuer> {
  const privateJwk = await loadOrCreateKey(stateDir);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const key = await importJWK(privateJwk, ALGORITHM);
  return {
    jwks: { keys: [publicJwk] },
    sign: async (options = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ scope: [...(options.scopes ?? ['network.admin'])], client_id: 'local-admin' })
        .setProtectedHeader({ alg: ALGORITHM, kid: privateJwk.kid ?? 'local', typ: 'JWT' })
        .setIssuer(options.issuer ?? LOCAL_ISSUER)
        .setAudience(options.audience ?? LOCAL_AUDIENCE)
        .setSubject(options.subject ?? 'local-admin')
        .setIssuedAt(now)
        .setExpirationTime(now + (options.ttlSeconds ?? 3600))
        .sign(key);
    },
  };
}
