import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { TableStores } from '../../core/store/table-stores.js';
import type { ApiSettings } from './settings.js';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResponse = APIGatewayProxyStructuredResultV2;

/** What an operation sees of a request: the parsed JSON body, the query and the path parameters. */
export interface ApiRequest {
  readonly body: unknown;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
  /** `https://<API domain>` as the caller reached it: V3 bodies carry absolute links, as CF's do. */
  readonly baseUrl: string;
}

export interface ApiResult {
  readonly statusCode: number;
  /** Sent as JSON; undefined sends no body (V3's 202 and 204). */
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What operations work with, built once per Lambda container (or once in local mode). */
export type ApiDependencies = TableStores;

/**
 * One API operation: request in, result out, domain errors thrown. No HTTP or AWS inside. `deps`
 * are the stores it uses (a v1 route's or a V3 route's, so each bundle holds only those);
 * `settings` are the deployment's (lambdas/api/settings.ts), read once when the handler is made.
 */
export type Operation<D = ApiDependencies> = (
  request: ApiRequest,
  deps: D,
  settings: ApiSettings,
) => Promise<ApiResult>;
