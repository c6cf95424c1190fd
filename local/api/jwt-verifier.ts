// Verifies bearer tokens the way API Gateway's JWT authorizer does: signature against the issuer's
// JWKS, RSA only, issuer, audience and expiry. Local mode runs it in front of the handlers.
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { UnauthorizedError } from '../../lambdas/api/http-errors.js';

export interface JwtVerifierOptions {
  readonly jwksUrl: URL;
  readonly issuer: string;
  readonly audience: string;
}

export type JwtVerifier = (authorizationHeader: string | undefined) => Promise<JWTPayload>;

const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

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
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        algorithms: RSA_ALGORITHMS,
        // API Gateway refuses tokens that never expire; so do we.
        requiredClaims: ['exp'],
      });
      if (!audienceMatches(payload, options.audience)) {
        throw new errors.JWTClaimValidationFailed('unexpected "aud" claim value', payload, 'aud', 'check_failed');
      }
      return payload;
    } catch (error) {
      throw new UnauthorizedError(describe(error), 'invalid_token');
    }
  };
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

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `token ${error.claim} claim is not accepted`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token was not signed by a known key';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not accepted (RSA only)';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'token is malformed';
  return 'token could not be verified';
}
