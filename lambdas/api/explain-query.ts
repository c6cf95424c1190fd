// GET /explain's query: every parameter is a string in a URL, checked here into the pure explain
// query (core/plan/explain.ts). A bad one is a 400 naming it; nothing is read from the table first.
import * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import { hostNameProblem, isWildcardHost, lowerAscii } from '../../core/domain/host-names.js';
import { HTTP_METHODS, headerNameProblem, headerValueProblem } from '../../core/domain/http-routes.js';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { IDENTIFIER_PATTERN, isLayer7Protocol, PROTOCOLS } from '../../core/domain/model-primitives.js';
import { CONTAINER_WORKLOADS } from '../../core/domain/security-group.js';
import { formatIssues } from '../../core/domain/validation.js';
import type { ExplainQuery } from '../../core/plan/explain.js';
import type { Layer7Query } from '../../core/plan/explain-layer7.js';

/** ping's echo request, when an icmp question names no type. */
export const DEFAULT_ICMP = { type: 8, code: 0 } as const;

const id = (what: string) =>
  z.string().check(z.regex(IDENTIFIER_PATTERN, `must be the ${what}'s GUID (letters, digits, . _ : -)`));
const integer = (min: number, max: number) =>
  z.string().check(z.regex(/^\d{1,5}$/, `must be a whole number from ${min} to ${max}`));

/** The parameters as strings, each with the message an operator reads. */
export const explainQuerySchema = z.strictObject({
  app: id('app'),
  space: id('space'),
  org: z.optional(id('organisation')),
  workload: z.optional(z.enum(CONTAINER_WORKLOADS, { error: `must be one of ${CONTAINER_WORKLOADS.join(', ')}` })),
  /** tcp, udp and icmp: where the container connects to. */
  ip: z.optional(z.string().check(z.refine(isIpv4, 'must be an IPv4 address such as 198.51.100.7'))),
  protocol: z.enum(PROTOCOLS, { error: `must be one of ${PROTOCOLS.join(', ')}` }),
  port: z.optional(integer(1, 65535)),
  icmp_type: z.optional(integer(0, 255)),
  icmp_code: z.optional(integer(0, 255)),
  /** http and https: the Host header or the TLS SNI. */
  host: z.optional(z.string().check(z.maxLength(253, 'must be at most 253 characters'))),
  /** http: the request's method (default GET), path (default /) and headers (a JSON object). */
  method: z.optional(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` })),
  path: z.optional(
    z
      .string()
      .check(
        z.regex(/^\/[\x21-\x7e]{0,2047}$/, 'must start with "/": printable ASCII, no spaces, at most 2048 characters'),
      ),
  ),
  headers: z.optional(z.string().check(z.maxLength(4096, 'must be at most 4096 characters'))),
});

/** The most headers an explain question may carry (a route matches at most 10). */
const MAX_QUERY_HEADERS = 16;

const required = (field: string) => `${field}: is required`;

/** The query of an explain request; a ValidationError (400) naming every bad parameter. */
export function parseExplainQuery(query: Readonly<Record<string, string | undefined>>): ExplainQuery | Layer7Query {
  const present = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
  const parsed = z.safeParse(explainQuerySchema, present);
  if (!parsed.success) {
    // zod says "expected string" for a missing parameter; say what to do instead.
    const problems = parsed.error.issues.map((issue) =>
      issue.code === 'invalid_type' && issue.path.length === 1 ? { ...issue, message: 'is required' } : issue,
    );
    throw new ValidationError(formatIssues(problems, 'query'));
  }
  const { app, space, org, workload, ip, protocol, port, icmp_type, icmp_code, host, method, path, headers } =
    parsed.data;
  const problems: string[] = [];
  const bounded = (field: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (value < min || value > max) problems.push(`${field}: must be a whole number from ${min} to ${max}`);
    return value;
  };
  const portNumber = bounded('port', port, 1, 65535);
  const type = bounded('icmp_type', icmp_type, 0, 255);
  const code = bounded('icmp_code', icmp_code, 0, 255);
  const only = (field: string, value: unknown, protocols: string) => {
    if (value !== undefined) problems.push(`${field}: is only allowed for protocol ${protocols}`);
  };
  if (protocol === 'icmp') {
    if (port !== undefined) problems.push('port: is only allowed for protocol tcp or udp');
    if (type === undefined && code !== undefined) problems.push(required('icmp_type'));
  } else {
    if (port === undefined) problems.push(`${required('port')} for protocol ${protocol}`);
    only('icmp_type', icmp_type, 'icmp');
    only('icmp_code', icmp_code, 'icmp');
  }
  if (isLayer7Protocol(protocol)) {
    if (ip !== undefined) {
      problems.push(
        'ip: is not used for http and https (the proxy connects to where the host resolves); explain a connection to an address as tcp',
      );
    }
    if (host === undefined) problems.push(`${required('host')} for protocol ${protocol}`);
    else {
      const problem = hostNameProblem(lowerAscii(host));
      if (problem !== undefined || isWildcardHost(host))
        problems.push(`host: ${problem ?? 'must be a name, not a pattern'}`);
    }
  } else {
    if (ip === undefined) problems.push(`${required('ip')} for protocol ${protocol}`);
    only('host', host, 'http or https');
  }
  if (protocol !== 'http') {
    only('method', method, 'http');
    only('path', path, 'http');
    only('headers', headers, 'http');
  }
  const headerMap = headers === undefined ? undefined : parseHeaders(headers, problems);
  if (problems.length > 0) throw new ValidationError(problems.join('; '));
  // Source ids are stored in lower case (CF's GUIDs are), and cells get them from CF that way.
  const who = {
    app: app.toLowerCase(),
    space: space.toLowerCase(),
    ...(org === undefined ? {} : { org: org.toLowerCase() }),
    workload: workload ?? 'app',
  };
  if (isLayer7Protocol(protocol)) {
    return {
      ...who,
      protocol,
      host: lowerAscii(host ?? ''),
      port: portNumber ?? 0,
      ...(method === undefined ? {} : { method }),
      ...(path === undefined ? {} : { path }),
      ...(headerMap === undefined ? {} : { headers: headerMap }),
    };
  }
  return {
    ...who,
    ip: ip ?? '',
    protocol,
    ...(portNumber === undefined ? {} : { port: portNumber }),
    ...(protocol === 'icmp' ? { icmp: { type: type ?? DEFAULT_ICMP.type, code: code ?? DEFAULT_ICMP.code } } : {}),
  };
}

/** `headers`: a JSON object of header names (any case) to values, as a route would compare them. */
function parseHeaders(text: string, problems: string[]): Record<string, string> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    problems.push('headers: must be a JSON object such as {"x-env":"prod"}');
    return undefined;
  }
  const parsed = z.safeParse(z.record(z.string(), z.string()), value);
  if (!parsed.success) {
    problems.push('headers: must be a JSON object of header names to string values');
    return undefined;
  }
  const entries = Object.entries(parsed.data);
  if (entries.length > MAX_QUERY_HEADERS) problems.push(`headers: must hold at most ${MAX_QUERY_HEADERS} headers`);
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of entries) {
    const lower = lowerAscii(name);
    const problem = headerNameProblem(lower) ?? headerValueProblem(headerValue);
    if (problem !== undefined) problems.push(`headers: ${JSON.stringify(name.slice(0, 40))} ${problem}`);
    headers[lower] = headerValue;
  }
  return headers;
}
