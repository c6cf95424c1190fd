// Checks the claims API Gateway's JWT authorizer (or local mode's) already verified: defence in
// depth, so a route wired without an authorizer still refuses to serve.
import type middy from '@middy/core';
import { scopesOf } from '../auth/scopes.js';
import { ForbiddenError, UnauthorizedError } from '../http-errors.js';
import type { ApiEvent, ApiResponse } from '../types.js';

export function requireScope(scope: string): middy.MiddlewareObj<ApiEvent, ApiResponse> {
  return {
    before: async (request) => {
      const jwt = request.event.requestContext?.authorizer?.jwt;
      if (!jwt?.claims) throw new UnauthorizedError('missing bearer token in the Authorization header');
      const granted = scopesOf(jwt.claims);
      for (const routeScope of jwt.scopes ?? []) granted.add(routeScope);
      if (!granted.has(scope)) throw new ForbiddenError(`token lacks the required scope ${scope}`, scope);
    },
  };
}
