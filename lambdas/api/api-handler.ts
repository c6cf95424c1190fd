// Wraps an operation as a Lambda handler for API Gateway HTTP API (payload 2.0) events. The same
// wrapper serves Lambda and local mode, so both run identical middleware.
import middy from '@middy/core';
import type { Log } from '../../core/log.js';
import { lambdaLog } from '../shared/logging.js';
import { compressResponse } from './middleware/compress-response.js';
import { errorResponse } from './middleware/error-response.js';
import { jsonBody, type ParsedBody } from './middleware/json-body.js';
import { knownQuery } from './middleware/known-query.js';
import { requireScope } from './middleware/require-scope.js';
import { ROUTES } from './routes.js';
import { type ApiSettings, apiSettingsFrom } from './settings.js';
import type { ApiDependencies, ApiEvent, ApiResponse, Operation } from './types.js';

export type ApiHandler = (event: ApiEvent, context?: unknown) => Promise<ApiResponse>;

/**
 * `log` receives the failures that are ours (5xx); Lambda logs them with Powertools, local mode may
 * pass its own writer of the same line shape. `settings` are read from the environment when the
 * handler is made (a Lambda's cold start, local mode's start); a value that is not one of the
 * setting's throws then, so a function never serves with a setting it misread.
 */
export function createApiHandler<D = ApiDependencies>(
  operation: Operation<D>,
  dependencies: () => D,
  log: Log = lambdaLog,
  settings: ApiSettings = apiSettingsFrom(process.env),
): ApiHandler {
  const wrapped = middy<ApiEvent & ParsedBody, ApiResponse>()
    .use(errorResponse(log))
    .use(compressResponse())
    .use(requireScope())
    .use(knownQuery(ROUTES))
    .use(jsonBody())
    .handler(async (event) => {
      const result = await operation(
        {
          body: event.parsedBody,
          query: event.queryStringParameters ?? {},
          pathParameters: event.pathParameters ?? {},
          baseUrl: baseUrlOf(event),
        },
        dependencies(),
        settings,
      );
      if (result.body === undefined) return { statusCode: result.statusCode, headers: { ...result.headers }, body: '' };
      return {
        statusCode: result.statusCode,
        headers: { 'content-type': 'application/json', ...result.headers },
        body: JSON.stringify(result.body),
      };
    });
  // middy wants a Lambda context; local mode and tests have none, and no middleware here reads it.
  return (event, context) => wrapped(event, (context ?? {}) as never);
}

/**
 * The API's address as the caller used it: API Gateway's domain name, and the scheme its
 * x-forwarded-proto header names (local mode's gateway sets it to http).
 */
function baseUrlOf(event: ApiEvent): string {
  const scheme = event.headers?.['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return `${scheme}://${event.requestContext?.domainName ?? 'localhost'}`;
}
