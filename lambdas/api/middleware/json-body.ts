// Parses the body as JSON whatever the Content-Type says: `cf curl -d` and `curl -d` send JSON as
// form-encoded, and CF's API accepts it.
import type middy from '@middy/core';
import { HttpError } from '../http-errors.js';
import type { ApiEvent, ApiResponse } from '../types.js';

export interface ParsedBody {
  parsedBody?: unknown;
}

export function jsonBody(): middy.MiddlewareObj<ApiEvent & ParsedBody, ApiResponse> {
  return {
    before: async (request) => {
      const { body, isBase64Encoded } = request.event;
      if (body === undefined || body === null || body === '') return;
      const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
      try {
        request.event.parsedBody = JSON.parse(text);
      } catch (error) {
        throw new HttpError(400, `request body: invalid JSON (${(error as Error).message})`);
      }
    },
  };
}
