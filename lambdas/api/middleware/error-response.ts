// Last line of defence: anything thrown becomes a JSON error; internals are logged, never returned.
import type middy from '@middy/core';
import type { Log } from '../../../core/log.js';
import { toErrorResponse } from '../http-errors.js';
import type { ApiEvent, ApiResponse } from '../types.js';

export function errorResponse(log: Log): middy.MiddlewareObj<ApiEvent, ApiResponse> {
  return {
    onError: async (request) => {
      const mapped = toErrorResponse(request.error);
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
        body: JSON.stringify({ error: mapped.message }),
      };
    },
  };
}
