// Refuses query parameters the route does not read: `?destination_id=X` on a list that has no such
// filter would otherwise answer with everything, and a script that deletes what it got deletes it
// all. The route table (../routes.ts) says which parameters each route reads; the route is found by
// the event's routeKey, which API Gateway and local mode's gateway both set.
import type middy from '@middy/core';
import { quote } from '../../../core/domain/validation.js';
import { UnknownQueryError } from '../http-errors.js';
import { type RouteDefinition, routeKeyOf } from '../routes.js';
import type { ApiEvent, ApiResponse } from '../types.js';

/** How many unknown names a 400 lists, and how much of each (a name can be of any length). */
const MAX_LISTED = 5;
const MAX_NAME_LENGTH = 100;

function listed(names: readonly string[]): string {
  const shown = names
    .slice(0, MAX_LISTED)
    .map((name) => quote(name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name));
  const more = names.length - MAX_LISTED;
  return more > 0 ? `${shown.join(', ')} …and ${more} more` : shown.join(', ');
}

export function knownQuery(routes: readonly RouteDefinition[]): middy.MiddlewareObj<ApiEvent, ApiResponse> {
  const known = new Map(routes.map((route) => [routeKeyOf(route), route.queryParameters ?? []]));
  return {
    before: async (request) => {
      const names = Object.keys(request.event.queryStringParameters ?? {});
      if (names.length === 0) return;
      // A route missing from the table reads no parameters.
      const allowed = known.get(request.event.routeKey) ?? [];
      const unknown = names.filter((name) => !allowed.includes(name));
      if (unknown.length === 0) return;
      const takes = allowed.length === 0 ? 'this route takes none' : `known: ${allowed.join(', ')}`;
      const valid = allowed.map((name) => `'${name}'`).join(', ');
      throw new UnknownQueryError(
        `unknown query parameter(s) ${listed(unknown)} (${takes})`,
        `Unknown query parameter(s): ${listed(unknown)}. Valid parameters are: ${valid}`,
      );
    },
  };
}
