// Verifies bearer tokens the way API Gateway's JWT authorizer does: a `kid` in the header naming a key
// of the issuer's JWKS, an RSA signature by that key, issuer, audience, `exp` required and in the
// future, `nbf` and `iat` not in the future (both within CLOCK_SKEW_SECONDS), and the route's scopes
// read exactly from `scope` or `scp`. Local mode runs it in front of the handlers.
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import { ForbiddenError, UnauthorizedError } from '../../lambdas/api/http-errors.js';

export interface JwtVerifierOptions {
  readonly jwksUrl: URL;
  readonly issuer: string;
  readonly audience: string;
}

export type JwtVerifier = (authorizationHeader: string | undefined) => Promise<JWTPayload>;

const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

/**
 * How far ahead of this clock a token's `iat` and `nbf` may be: an issuer's clock a little ahead of
 * ours is normal, a token issued ten years from now is forged. `exp` gets no such allowance.
 */
export const CLOCK_SKEW_SECONDS = 60;

/** The token of an `Authorization: Bearer <token>` header (the prefix is case-insensitive, as `cf oauth-token` prints "bearer"). */
export function bearerToken(header: string | undefined): string {
  if (!header || header.trim() === '') throw new UnauthorizedError('missing bearer token in the Authorization header');
  const match = /^bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (!match?.[1]) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"', 'invalid_token');
  return match[1];
}

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  // Made on first use: local mode serves its JWKS from the server this verifier protects.
  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  return async (header) => {
    const token = bearerToken(header);
    keys ??= createRemoteJWKSet(options.jwksUrl);
    try {
      // Without a kid, jose would try the JWKS's only key; API Gateway refuses the token instead.
      const { kid } = protectedHeader(token);
      if (typeof kid !== 'string' || kid === '') throw new MissingKeyId();
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        algorithms: RSA_ALGORITHMS,
        // API Gateway refuses tokens that never expire; so do we.
        requiredClaims: ['exp'],
        // jose applies this to nbf (wanted) and exp (not wanted: checked strictly below).
        clockTolerance: CLOCK_SKEW_SECONDS,
      });
      checkTimes(payload);
      if (!audienceMatches(payload, options.audience)) {
        throw new errors.JWTClaimValidationFailed('unexpected "aud" claim value', payload, 'aud', 'check_failed');
      }
      return payload;
    } catch (error) {
      throw new UnauthorizedError(describe(error), 'invalid_token');
    }
  };
}

class MissingKeyId extends Error {}

function protectedHeader(token: string): ReturnType<typeof decodeProtectedHeader> {
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw new errors.JWSInvalid('the protected header is not base64url JSON');
  }
}

/** `exp` strictly in the future; `iat` (when present) not later than the allowed skew. */
function checkTimes(payload: JWTPayload): void {
  const now = Math.floor(Date.now() / 1000);
  if (payload.exp !== undefined && payload.exp <= now) {
    throw new errors.JWTExpired('"exp" claim timestamp check failed', payload, 'exp', 'check_failed');
  }
  if (payload.iat !== undefined && payload.iat > now + CLOCK_SKEW_SECONDS) {
    throw new errors.JWTClaimValidationFailed('"iat" claim timestamp check failed', payload, 'iat', 'check_failed');
  }
}

/**
 * API Gateway's rule: `aud` must name the audience; only when a token has no `aud` (Cognito access
 * tokens) is `client_id` checked instead.
 */
export function audienceMatches(payload: JWTPayload, audience: string): boolean {
  if (payload.aud !== undefined) {
    return Array.isArray(payload.aud) ? payload.aud.includes(audience) : payload.aud === audience;
  }
  return payload.client_id === audience;
}

/**
 * The scopes a token carries, as API Gateway reads them: a `scope` or `scp` string is a list of scopes
 * separated by single spaces (RFC 6749 §3.3), an array lists one scope per element. Nothing else is
 * split: the array element "x,network.admin" is that one (useless) scope, never network.admin.
 */
export function tokenScopes(payload: JWTPayload): Set<string> {
  const scopes = new Set<string>();
  for (const claim of [payload.scope, payload.scp]) {
    const items = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    for (const item of items) if (typeof item === 'string' && item !== '') scopes.add(item);
  }
  return scopes;
}

/**
 * A route's scope check: the token must carry at least one of the route's scopes (403 otherwise, as
 * API Gateway answers). Returns the ones it carries, which API Gateway passes on as `jwt.scopes`.
 */
export function authorizeScopes(payload: JWTPayload, routeScopes: readonly string[]): string[] {
  const granted = tokenScopes(payload);
  const matched = routeScopes.filter((scope) => granted.has(scope));
  if (routeScopes.length > 0 && matched.length === 0) {
    const [first] = routeScopes;
    throw new ForbiddenError(`token lacks the required scope ${routeScopes.join(' or ')}`, first);
  }
  return matched;
}

function describe(error: unknown): string {
  if (error instanceof MissingKeyId) return 'token has no kid in its header';
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'check_failed' && error.claim === 'nbf')
      return 'token is not valid yet (nbf is in the future)';
    if (error.reason === 'check_failed' && error.claim === 'iat') return 'token is issued in the future (iat)';
    return `token ${error.claim} claim is not accepted`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token was not signed by a known key';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not accepted (RSA only)';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'token is malformed';
  return 'token could not be verified';
}
