// HTTP to the API with Node's fetch: the bearer token on every request, JSON both ways, and every
// failure turned into a CtlError with one line and what to do (api-errors.ts).
import { apiRefusal } from './api-errors.js';
import { Unreachable } from './errors.js';
import type { Target } from './target.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiClient {
  readonly baseUrl: string;
  /** The 2xx answer's body, parsed (undefined when there is none, as for 204); throws a CtlError otherwise. */
  request(method: Method, path: string, options?: { query?: URLSearchParams; body?: unknown }): Promise<unknown>;
}

export function apiClient(target: Target, fetchImpl: typeof fetch = fetch): ApiClient {
  return {
    baseUrl: target.baseUrl,
    async request(method, path, options = {}) {
      const query = options.query?.toString();
      const url = `${target.baseUrl}${path}${query ? `?${query}` : ''}`;
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method,
          headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        });
      } catch (error) {
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
        throw new Unreachable(
          `cannot reach the API at ${target.baseUrl}: ${cause}`,
          'is it running (`npm start` for local mode)? check --api or EGRESS_API',
        );
      }
      const text = await response.text();
      if (!response.ok) throw apiRefusal(method, path, response.status, text);
      if (text.trim() === '') return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw apiRefusal(method, path, response.status, text, 'the answer is not JSON');
      }
    },
  };
}
