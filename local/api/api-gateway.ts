// A small stand-in for API Gateway's HTTP API: matches routes, verifies the bearer token and the
// route's scopes like the JWT authorizer does (not on a public route, which has no authorizer), and
// calls the very handlers Lambda runs with a payload 2.0 event.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import { jsonLineLog, type Log } from '../../core/log.js';
import type { ApiHandler } from '../../lambdas/api/api-handler.js';
import { HttpError } from '../../lambdas/api/http-errors.js';
import { apiFamilyOf, errorBody } from '../../lambdas/api/middleware/error-response.js';
import { REQUIRED_SCOPE } from '../../lambdas/api/routes.js';
import type { ApiEvent, ApiResponse } from '../../lambdas/api/types.js';
import { LOCAL_SERVICE } from '../local-service.js';
import { authorizeScopes, type JwtVerifier } from './jwt-verifier.js';

const MAX_BODY_BYTES = 1024 * 1024;
/**
 * After a 413 the rest of the body is read and dropped (up to this much, for up to DRAIN_TIMEOUT_MS)
 * before the answer and a clean close: closing a socket with unread data resets it, and the client
 * may lose the 413.
 */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

export interface LocalRoute {
  readonly method: string;
  /** Template with `{name}` path parameters, as API Gateway writes routes. */
  readonly path: string;
  readonly handler: ApiHandler;
  /** The scopes that may call it (a token needs one); @default the gateway's authorizationScopes */
  readonly scopes?: readonly string[];
  /** No authorizer: served without a token, and its event has no claims (routes.ts's `public`). */
  readonly public?: boolean;
}

export interface PublicDocument {
  readonly path: string;
  readonly body: unknown;
}

export interface ApiGatewayOptions {
  readonly routes: readonly LocalRoute[];
  readonly verifier: JwtVerifier;
  /**
   * The scopes a route without its own accepts (a token needs one of them). @default [REQUIRED_SCOPE]
   */
  readonly authorizationScopes?: readonly string[];
  /** Unauthenticated GET documents, such as the local issuer's JWKS. */
  readonly publicDocuments?: readonly PublicDocument[];
  /** Failures of ours (5xx) outside the handlers. @default JSON lines of service dynamic-egress-local */
  readonly log?: Log;
  /** One line per request: method, path, status, milliseconds and the token's subject. @default none */
  readonly requestLog?: Log;
  /**
   * Called when a request that may have written (any method but GET and HEAD) is answered with a
   * 2xx, just before the answer goes out: local mode wakes its stream reader (no API Gateway does this).
   */
  readonly onWritten?: () => void;
}

interface CompiledRoute extends LocalRoute {
  readonly pattern: RegExp;
  readonly parameterNames: string[];
}

function compile(route: LocalRoute): CompiledRoute {
  const parameterNames: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const parameter = /^\{(\w+)\}$/.exec(segment);
      if (!parameter?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      parameterNames.push(parameter[1]);
      return '([^/]+)';
    })
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}$`), parameterNames };
}

/** API Gateway passes claims to Lambda as strings and arrays as "[a b]"; do the same so handlers see one shape. */
function asGatewayClaims(payload: JWTPayload): Record<string, string | number | boolean | string[]> {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    claims[name] = Array.isArray(value)
      ? `[${value.join(' ')}]`
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  }
  return claims;
}

const tooLarge = (): HttpError => new HttpError(413, `request body: larger than ${MAX_BODY_BYTES} bytes`);

/** The body, or a 413 as soon as it is too large (the request is left unread, not destroyed). */
function readBody(request: IncomingMessage): Promise<string> {
  if (Number(request.headers['content-length']) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData).off('end', onEnd);
      request.pause();
      reject(tooLarge());
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    request.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

/** Reads and drops what is left of the body (bounded), then calls done. */
function discardBody(request: IncomingMessage, done: () => void): void {
  if (request.complete) {
    done();
    return;
  }
  let discarded = 0;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    request.off('data', onData);
    request.pause();
    done();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > MAX_DRAIN_BYTES) finish();
  };
  const timer = setTimeout(finish, DRAIN_TIMEOUT_MS);
  request.on('data', onData).once('end', finish).once('close', finish);
  request.resume();
}

function send(response: ServerResponse, result: ApiResponse): void {
  response.writeHead(result.statusCode ?? 200, { ...(result.headers ?? {}) } as Record<string, string>);
  // As API Gateway does: a base64 body (a gzipped one, compress-response.ts) goes out as its bytes.
  response.end(result.isBase64Encoded === true ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
}

function sendError(
  request: IncomingMessage,
  response: ServerResponse,
  error: unknown,
  log: Log,
  routeKey: string | undefined,
): void {
  // In the envelope of the API the request was for: V3's `{"errors": [...]}` or v1's `{"error": ...}`.
  const mapped = errorBody(error, apiFamilyOf(routeKey, new URL(request.url ?? '/', 'http://localhost').pathname));
  if (mapped.internal) log.error('request failed before reaching a handler', { error });
  const answer = (headers: Record<string, string> = {}): void =>
    send(response, {
      statusCode: mapped.statusCode,
      headers: { 'content-type': 'application/json', ...mapped.headers, ...headers },
      body: mapped.body,
    });
  // An oversized body is not read to its end: this connection cannot carry another request, so the
  // client is told (Connection: close) and the socket is ended once the answer is out.
  if (mapped.statusCode === 413) discardBody(request, () => answer({ connection: 'close' }));
  else answer();
}

function singleValued(headers: IncomingMessage['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return result;
}

export function createApiGateway(options: ApiGatewayOptions): Server {
  const routes = options.routes.map(compile);
  const documents = new Map((options.publicDocuments ?? []).map((doc) => [doc.path, JSON.stringify(doc.body)]));
  const log = options.log ?? jsonLineLog({ service: LOCAL_SERVICE });
  const authorizationScopes = options.authorizationScopes ?? [REQUIRED_SCOPE];

  return createServer((request, response) => {
    let subject: string | undefined;
    let routeKey: string | undefined;
    if (options.requestLog) logWhenDone(options.requestLog, request, response, () => subject);
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const method = request.method ?? 'GET';
      const document = documents.get(url.pathname);
      if (document !== undefined && method === 'GET') {
        send(response, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: document });
        return;
      }
      const onPath = routes.filter((route) => route.pattern.test(url.pathname));
      const route = onPath.find((candidate) => candidate.method === method);
      if (!route) {
        throw onPath.length > 0
          ? new HttpError(405, `method ${method} is not allowed on ${url.pathname}`, {
              allow: onPath.map((r) => r.method).join(', '),
            })
          : new HttpError(404, `no route for ${method} ${url.pathname}`);
      }
      routeKey = `${route.method} ${route.path}`;
      // As API Gateway does: a route without an authorizer ignores any token, and its event has no authorizer.
      let authorizer:
        | {
            principalId: string;
            integrationLatency: number;
            jwt: { claims: ReturnType<typeof asGatewayClaims>; scopes: ReturnType<typeof authorizeScopes> };
          }
        | undefined;
      if (!route.public) {
        const claims = await options.verifier(request.headers.authorization);
        subject = claims.sub;
        const scopes = authorizeScopes(claims, route.scopes ?? authorizationScopes);
        authorizer = { principalId: '', integrationLatency: 0, jwt: { claims: asGatewayClaims(claims), scopes } };
      }
      const body = await readBody(request);
      const match = route.pattern.exec(url.pathname);
      const pathParameters = Object.fromEntries(
        route.parameterNames.map((name, index) => [name, decodePathSegment(match?.[index + 1] ?? '')]),
      );
      const query: Record<string, string> = {};
      for (const name of new Set(url.searchParams.keys())) query[name] = url.searchParams.getAll(name).join(',');
      const event = {
        version: '2.0',
        routeKey: `${route.method} ${route.path}`,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        // As API Gateway does, with the scheme this server speaks.
        headers: { ...singleValued(request.headers), 'x-forwarded-proto': 'http' },
        ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
        ...(route.parameterNames.length > 0 ? { pathParameters } : {}),
        requestContext: {
          accountId: 'local',
          apiId: 'local',
          domainName: request.headers.host ?? 'localhost',
          domainPrefix: 'local',
          http: {
            method,
            path: url.pathname,
            protocol: `HTTP/${request.httpVersion}`,
            sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
            userAgent: request.headers['user-agent'] ?? '',
          },
          requestId: randomUUID(),
          routeKey: `${route.method} ${route.path}`,
          stage: '$default',
          time: new Date().toISOString(),
          timeEpoch: Date.now(),
          ...(authorizer ? { authorizer } : {}),
        },
        ...(body.length > 0 ? { body } : {}),
        isBase64Encoded: false,
      } as unknown as ApiEvent;
      const result = await route.handler(event);
      const status = result.statusCode ?? 200;
      if (method !== 'GET' && method !== 'HEAD' && status >= 200 && status < 300) options.onWritten?.();
      send(response, result);
    })().catch((error: unknown) => sendError(request, response, error, log, routeKey));
  });
}

/** Logs the request once its answer is sent (or the connection is gone). */
function logWhenDone(log: Log, request: IncomingMessage, response: ServerResponse, subject: () => string | undefined) {
  const started = performance.now();
  response.once('close', () => {
    const sub = subject();
    log.info('request', {
      method: request.method,
      path: (request.url ?? '/').split('?')[0],
      status: response.statusCode,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...(sub === undefined ? {} : { subject: sub }),
      ...(response.writableFinished ? {} : { aborted: true }),
    });
  });
}

/** A path parameter as API Gateway hands it over: percent-decoded; broken escapes are the caller's error. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `path: ${JSON.stringify(segment.slice(0, 140))} is not valid percent-encoding`);
  }
}
