import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CellRegistry } from '../../core/domain/cells.js';
import type { PolicyStore } from '../../core/domain/store.js';
import type { ApiSettings } from './settings.js';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResponse = APIGatewayProxyStructuredResultV2;

/** What an operation sees of a request: the parsed JSON body, the query and the path parameters. */
export interface ApiRequest {
  readonly body: unknown;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
}

export interface ApiResult {
  readonly statusCode: number;
  readonly body: unknown;
}

/** What operations work with, built once per Lambda container (or once in local mode). */
export interface ApiDependencies {
  readonly policies: PolicyStore;
  readonly cells: CellRegistry;
}

/**
 * One API operation: request in, result out, domain errors thrown. No HTTP or AWS inside. `settings`
 * are the deployment's (lambdas/api/settings.ts), read once when the handler is made.
 */
export type Operation = (request: ApiRequest, deps: ApiDependencies, settings: ApiSettings) => Promise<ApiResult>;
