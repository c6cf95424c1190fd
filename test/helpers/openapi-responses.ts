// Checks an API response against the OpenAPI document (lambdas/api/openapi/): its status must be
// one the route declares, and its body must match the schema declared for that status (none: no
// body). The API tests' HTTP helper (local-api.ts) runs every response it receives through this.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { openApiDocument } from '../../lambdas/api/openapi/document.js';
import { ROUTES, type RouteDefinition, routeKeyOf } from '../../lambdas/api/routes.js';

interface DeclaredResponse {
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly content?: { readonly 'application/json': { readonly schema: { readonly $ref: string } } };
}

interface Operation {
  readonly responses: Readonly<Record<string, DeclaredResponse>>;
}

type Paths = Readonly<Record<string, Readonly<Record<string, Operation>>>>;

const DOCUMENT_ID = 'openapi.json';

export interface ResponseChecker {
  /** Throws naming the route, status and every mismatch; requests that match no route are not checked. */
  check(method: string, url: string, response: { status: number; headers: Headers; body: unknown }): void;
}

/** The route a request reaches, matched as local mode's gateway matches (routes.ts order). */
function routeFor(method: string, pathname: string): RouteDefinition | undefined {
  return ROUTES.find((route) => {
    if (route.method !== method) return false;
    const pattern = route.path
      .split('/')
      .map((segment) => (/^\{\w+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    return new RegExp(`^${pattern}$`).test(pathname);
  });
}

export function responseChecker(document: Record<string, unknown> = openApiDocument()): ResponseChecker {
  const ajv = new Ajv2020({ allErrors: true });
  // The document's schemas are found by their JSON pointers within it: `openapi.json#/components/...`.
  ajv.addKeyword('components');
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components }, DOCUMENT_ID);
  const paths = document.paths as Paths;
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (ref: string): ValidateFunction => {
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOCUMENT_ID}${ref}` });
      validators.set(ref, validate);
    }
    return validate;
  };

  return {
    check(method, url, { status, headers, body }) {
      const route = routeFor(method, new URL(url, 'http://localhost').pathname);
      if (!route) return;
      const where = `${routeKeyOf(route)} answered ${status}`;
      const declared = paths[route.path]?.[route.method.toLowerCase()]?.responses;
      if (!declared) throw new Error(`OpenAPI: ${routeKeyOf(route)} is not in the document`);
      const expected = declared[String(status)];
      if (!expected) {
        throw new Error(`OpenAPI: ${where}, a status it does not declare (${Object.keys(declared).join(', ')})`);
      }
      for (const name of Object.keys(expected.headers ?? {})) {
        if (!headers.has(name)) throw new Error(`OpenAPI: ${where} without its declared header ${name}`);
      }
      const content = expected.content?.['application/json'];
      if (!content) {
        if (body !== '') throw new Error(`OpenAPI: ${where} with a body, but declares none: ${JSON.stringify(body)}`);
        return;
      }
      const validate = validatorFor(content.schema.$ref);
      if (!validate(body)) {
        const problems = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`);
        throw new Error(
          `OpenAPI: ${where} with a body that does not match ${content.schema.$ref}: ${problems.join('; ')}\n${JSON.stringify(body).slice(0, 2000)}`,
        );
      }
    },
  };
}
