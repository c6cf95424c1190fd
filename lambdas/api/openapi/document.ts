// The API's OpenAPI 3.1 document, built from the route table (routes.ts: paths, methods, query
// parameters, scopes) and the zod schemas in operation-specs.ts. GET /openapi.json serves it;
// `npm run openapi` writes docs/openapi.json, which a test keeps equal to this.
import * as z from 'zod/mini';
import type { SourceIdFormat } from '../../../core/domain/schemas.js';
import { type ApiFamily, ROUTES, type RouteDefinition } from '../routes.js';
import {
  cfAuthErrorsBodySchema,
  cfErrorsBodySchema,
  gatewayErrorBodySchema,
  v1AuthErrorBodySchema,
  v1ErrorBodySchema,
} from './error-schemas.js';
import { NAMED_SCHEMAS, type OperationSpec, operationSpecs, type ResponseSpec } from './operation-specs.js';

type JsonObject = { [key: string]: unknown };

export const SECURITY_SCHEME = 'uaaJwt';

const BY_GATEWAY = ' On AWS, API Gateway answers it before any handler runs, with `{"message": ...}`.';

/** Throttled by the stage (every route): API Gateway's answer. */
const THROTTLED = 429;

/** The failures each API family may answer with, beside a route's successes. */
const ERRORS: Readonly<Record<ApiFamily, Readonly<Record<number, string>>>> = {
  v1: {
    400: 'The request is not valid (body, query parameter or value); the message says what is wrong.',
    401: `No token, or one that is not valid.${BY_GATEWAY}`,
    403: `The token has none of the route's scopes.${BY_GATEWAY}`,
    404: 'Nothing has that id.',
    406: 'The response is too large to send uncompressed: send Accept-Encoding: br or gzip.',
    409: 'Concurrent writes kept winning: retry.',
    413: 'The request body, or the response even compressed, is too large.',
    500: 'A failure of ours; it is logged.',
  },
  v3: {
    400: 'The body is not JSON (CF-MessageParseError).',
    401: `No token, or one that is not valid (CF-NotAuthenticated).${BY_GATEWAY}`,
    403: `The token has none of the route's scopes (CF-NotAuthorized).${BY_GATEWAY}`,
    404: 'Nothing has that guid (CF-ResourceNotFound).',
    406: 'The response is too large to send uncompressed: send Accept-Encoding: br or gzip (CF-InvalidRequest).',
    413: 'The request body, or the response even compressed, is too large (CF-InvalidRequest).',
    422: 'The request is not valid (CF-UnprocessableEntity); the detail says what is wrong.',
    500: 'A failure of ours; it is logged (CF-ServerError).',
    503: 'Concurrent writes kept winning: retry (CF-ServiceUnavailable).',
  },
};

/** A public route needs no token: it can fail only on what it is asked (a query parameter) or on us. */
const PUBLIC_ERRORS: readonly number[] = [400, 500];

const COMPONENTS = '#/components/schemas/';

/**
 * Names the schemas the document uses and turns them into JSON Schema (2020-12, OpenAPI 3.1's
 * dialect) together, so that one used in several places (a destination in every list) is written
 * once under components/schemas and referred to.
 */
class SchemaComponents {
  private readonly registry = z.registry<{ id: string }>();

  constructor() {
    for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) this.registry.add(schema, { id: name });
    this.registry.add(v1ErrorBodySchema, { id: 'Error' });
    this.registry.add(cfErrorsBodySchema, { id: 'CfErrors' });
    this.registry.add(gatewayErrorBodySchema, { id: 'GatewayError' });
    this.registry.add(v1AuthErrorBodySchema, { id: 'AuthError' });
    this.registry.add(cfAuthErrorsBodySchema, { id: 'CfAuthErrors' });
  }

  /** A reference to the schema, named `name` unless it has a name already. */
  ref(schema: z.core.$ZodType, name: string): JsonObject {
    const id = this.registry.get(schema)?.id ?? name;
    if (!this.registry.has(schema)) this.registry.add(schema, { id });
    return { $ref: `${COMPONENTS}${id}` };
  }

  /**
   * Every schema `paths` refers to, directly or from another schema, as JSON Schema of what it
   * accepts, sorted by name. A named schema no route uses (yet) is left out.
   */
  schemas(paths: JsonObject): JsonObject {
    const { schemas } = z.toJSONSchema(this.registry, {
      target: 'draft-2020-12',
      io: 'input',
      uri: (id) => `${COMPONENTS}${id}`,
      override: ({ zodSchema }) => refuseFlaggedPatterns(zodSchema),
    });
    // `$schema` is the document's dialect already; zod's `$id` (a fragment) is not a valid one.
    const all = new Map(
      Object.entries(schemas).map(([name, { $schema: _dialect, $id: _id, ...schema }]) => [name, schema]),
    );
    const used = new Set<string>();
    const visit = (value: unknown): void => {
      for (const [, name = ''] of JSON.stringify(value).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
        if (used.has(name)) continue;
        used.add(name);
        visit(all.get(name));
      }
    };
    visit(paths);
    return Object.fromEntries([...used].sort().map((name) => [name, all.get(name)]));
  }
}

/**
 * JSON Schema patterns have no flags and zod drops them: a case-insensitive regex would be documented
 * as case-sensitive. Spell such a pattern out (`[a-fA-F]`) instead.
 */
export function refuseFlaggedPatterns(schema: z.core.$ZodType): void {
  for (const check of schema._zod.def.checks ?? []) {
    // A regex check's definition carries its pattern (zod's $ZodCheckRegexDef).
    const def: { readonly check: string; readonly pattern?: unknown } = check._zod.def;
    const pattern = def.check === 'string_format' ? def.pattern : undefined;
    if (pattern instanceof RegExp && pattern.flags.replace('u', '') !== '') {
      throw new Error(`openapi: the pattern ${pattern} has flags JSON Schema cannot carry; spell it out without them`);
    }
  }
}

const pascal = (name: string): string =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

function response(spec: ResponseSpec, content: JsonObject | undefined): JsonObject {
  return {
    description: spec.description,
    ...(spec.headers
      ? {
          headers: Object.fromEntries(
            Object.entries(spec.headers).map(([name, description]) => [
              name,
              { description, schema: { type: 'string' } },
            ]),
          ),
        }
      : {}),
    ...(content ? { content: { 'application/json': { schema: content } } } : {}),
  };
}

function parameters(route: RouteDefinition, spec: OperationSpec): JsonObject[] {
  const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = queryShape(spec);
  const inQuery = (route.queryParameters ?? []).map((name) => ({
    name,
    in: 'query',
    ...(query.required.includes(name) ? { required: true } : {}),
    schema: query.properties[name] ?? { type: 'string' },
  }));
  return [...inPath, ...inQuery];
}

const queryJsonSchema = z.object({
  properties: z.record(z.string(), z.record(z.string(), z.unknown())),
  required: z.optional(z.array(z.string())),
});

/** Each query parameter's JSON Schema and the required ones, from the spec's query schema if it has one. */
function queryShape(spec: OperationSpec): { properties: Record<string, JsonObject>; required: string[] } {
  if (spec.query === undefined) return { properties: {}, required: [] };
  const { properties, required = [] } = z.parse(queryJsonSchema, z.toJSONSchema(spec.query, { io: 'input' }));
  return { properties, required };
}

function operation(route: RouteDefinition, spec: OperationSpec, components: SchemaComponents): JsonObject {
  const errorBody = route.api === 'v3' ? cfErrorsBodySchema : v1ErrorBodySchema;
  const errors = Object.entries(ERRORS[route.api]).filter(
    ([status]) => !route.public || PUBLIC_ERRORS.includes(Number(status)),
  );
  const name = pascal(route.name);
  const responses: JsonObject = {};
  for (const [status, success] of Object.entries(spec.responses)) {
    const content = success.schema ? components.ref(success.schema, `${name}Response${status}`) : undefined;
    responses[status] = response(success, content);
  }
  for (const [status, description] of errors) {
    const auth = status === '401' || status === '403';
    const body = auth ? (route.api === 'v3' ? cfAuthErrorsBodySchema : v1AuthErrorBodySchema) : errorBody;
    responses[status] = response({ description }, components.ref(body, 'Error'));
  }
  responses[THROTTLED] = response(
    { description: "Over the stage's request rate: API Gateway's answer, on AWS only." },
    components.ref(gatewayErrorBodySchema, 'GatewayError'),
  );
  const listed = parameters(route, spec);
  return {
    operationId: route.name,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [route.api],
    // A token needs one of the scopes: one requirement per scope, any of them satisfies.
    security: route.public ? [] : route.scopes.map((scope) => ({ [SECURITY_SCHEME]: [scope] })),
    ...(listed.length > 0 ? { parameters: listed } : {}),
    ...(spec.requestBody
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: components.ref(spec.requestBody, `${name}Request`) } },
          },
        }
      : {}),
    responses,
  };
}

export interface DocumentOptions {
  /** The deployment's policy source id format (lambdas/api/settings.ts). @default 'guid' */
  readonly sourceIds?: SourceIdFormat;
  /** The routes to describe. @default ROUTES */
  readonly routes?: readonly RouteDefinition[];
}

export function openApiDocument(options: DocumentOptions = {}): JsonObject {
  const specs: Readonly<Record<string, OperationSpec>> = operationSpecs(options.sourceIds ?? 'guid');
  const components = new SchemaComponents();
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of options.routes ?? ROUTES) {
    const spec = specs[route.name];
    if (!spec) throw new Error(`openapi: no operation spec for route ${route.name}`);
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route, spec, components) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'dynamic-egress',
      version: '1',
      description:
        "Per-app and per-space egress firewall policies: Cloud Foundry's external networking v1 API " +
        '(destinations, egress policies), its V3 security groups, and the cells that enforce them.',
    },
    tags: [
      { name: 'v1', description: 'External networking v1; errors are `{"error": "..."}`.' },
      { name: 'v3', description: 'Cloud Controller V3; errors are `{"errors": [{"code", "title", "detail"}]}`.' },
    ],
    paths,
    components: {
      schemas: components.schemas(paths),
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A UAA (or other OIDC issuer) access token; each operation lists the scopes it accepts.',
        },
      },
    },
  };
}

/** docs/openapi.json's text: the document for the default deployment (GUID sources), as `npm run openapi` writes it. */
export function openApiJson(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
