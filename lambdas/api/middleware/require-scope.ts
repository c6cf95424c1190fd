// Checks the claims API Gateway's JWT authorizer (or local mode's) already verified: defence in
// depth, so a route wired without an authorizer still refuses to serve. The route's scopes come
// from the route table by the event's routeKey; an event of no known route needs network.admin. A
// `public` route (the OpenAPI document) is served to anyone, token or not.
import type middy from '@middy/core';
import { scopesOf } from '../auth/scopes.js';
import { ForbiddenError, UnauthorizedError } from '../http-errors.js';
import { REQUIRED_SCOPE, routeOf } from '../routes.js';
import type { ApiEvent, ApiResponse } from '../types.js';

export function requireScope(): middy.MiddlewareObj<ApiEvent, ApiResponse> {
  return {
    before: async (request) => {
      const route = routeOf(request.event.routeKey);
      if (route?.public) return;
      const jwt = request.event.requestContext?.authorizer?.jwt;
      if (!jwt?.claims) throw new UnauthorizedError('missing bearer token in the Authorization header');
      const granted = scopesOf(jwt.claims);
      for (const routeScope of jwt.scopes ?? []) granted.add(routeScope);
      const accepted = route?.scopes ?? [REQUIRED_SCOPE];
      if (!accepted.some((scope) => granted.has(scope))) {
        throw new ForbiddenError(`token lacks the required scope ${accepted.join(' or ')}`, accepted[0]);
      }
    },
  };
}
