import { createApiHandler } from '../api-handler.js';
import { openApiDocument } from '../openapi/document.js';
import type { Operation } from '../types.js';

let document: ReturnType<typeof openApiDocument> | undefined;

/**
 * The OpenAPI document, for anyone (the route is public: routes.ts). Built on the first request of
 * a container, with the deployment's source id format; it reads no table.
 */
export const getOpenApi: Operation<unknown> = async (_request, _deps, settings) => {
  document ??= openApiDocument({ sourceIds: settings.sourceIds });
  return { statusCode: 200, body: document };
};

export const handler = createApiHandler(getOpenApi, () => undefined);
