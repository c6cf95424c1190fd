// Last line of defence: anything thrown becomes a JSON error; internals are logged, never returned.
// v1 routes answer `{"error": ...}`, V3 routes CF's `{"errors": [...]}` (../v3/cf-errors.ts).
import type middy from '@middy/core';
import type { Log } from '../../../core/log.js';
import { toErrorResponse } from '../http-errors.js';
import { type ApiFamily, routeOf, V3_PREFIX } from '../routes.js';
import type { ApiEvent, ApiResponse } from '../types.js';
import { toV3ErrorResponse } from '../v3/cf-errors.js';

/** The envelope of a request: its route's, or by its path when it matched none. */
export function apiFamilyOf(routeKey: string | undefined, path: string): ApiFamily {
  return routeOf(routeKey)?.api ?? (path === V3_PREFIX || path.startsWith(`${V3_PREFIX}/`) ? 'v3' : 'v1');
}

/** The response for a failure, in the envelope of its API. */
export function errorBody(error: unknown, family: ApiFamily) {
  if (family === 'v3') {
    const mapped = toV3ErrorResponse(error);
    return { ...mapped, body: JSON.stringify(mapped.body) };
  }
  const mapped = toErrorResponse(error);
  return { ...mapped, body: JSON.stringify({ error: mapped.message }) };
}

export function errorResponse(log: Log): middy.MiddlewareObj<ApiEvent, ApiResponse> {
  return {
    onError: async (request) => {
      const family = apiFamilyOf(request.event.routeKey, request.event.rawPath ?? '');
      const mapped = errorBody(request.error, family);
      if (mapped.internal) {
        log.error('request failed', {
          route: request.event.routeKey,
          requestId: request.event.requestContext?.requestId,
          error: request.error instanceof Error ? request.error : String(request.error),
        });
      }
      request.response = {
        statusCode: mapped.statusCode,
        headers: { 'content-type': 'application/json', ...mapped.headers },
        body: mapped.body,
      };
    },
  };
}
