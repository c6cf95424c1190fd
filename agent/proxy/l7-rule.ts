// What the per-cell proxy enforces, as plain data a planner can produce: one entry per layer-7
// destination with the containers allowed to use it. Checked here with zod/mini (a trust boundary:
// every value ends up in HAProxy's configuration or in iptables rules), then across entries.
import * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import { hostNameProblem, lowerAscii } from '../../core/domain/host-names.js';
import { HTTP_METHODS, headerNameProblem, headerValueProblem } from '../../core/domain/http-routes.js';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { pathRegexProblem } from '../../core/domain/path-regex.js';
import { identifierSchema } from '../../core/domain/schemas.js';
import { formatIssues, quote } from '../../core/domain/validation.js';

export const L7_PROTOCOLS = ['http', 'https'] as const;
export type L7Protocol = (typeof L7_PROTOCOLS)[number];

export interface L7Route {
  /** Any of these methods; absent: any method. */
  readonly methods?: readonly string[];
  /** Matched against the whole path (no query string); absent: any path. */
  readonly path_regex?: string;
  /** Each header present with exactly this value (names case-insensitive). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One layer-7 destination as the proxy needs it. */
export interface L7Rule {
  /** The destination's id: names the match in the proxy, never used as a name of anything else. */
  readonly id: string;
  /** `http`: Host header and routes; `https`: TLS SNI, not decrypted. */
  readonly protocol: L7Protocol;
  /** Exact names, or `*.example.com` for exactly one more label. */
  readonly hosts: readonly string[];
  /** The destination ports the containers connect to (the proxy connects to the same port). */
  readonly ports: readonly { readonly start: number; readonly end: number }[];
  /** `http` only. Absent or empty: any request to the hosts. Otherwise a request must match one. */
  readonly routes?: readonly L7Route[];
  /** Container addresses (IPv4) allowed to use this destination. */
  readonly sources: readonly string[];
}

export const MAX_L7_RULES = 10_000;
export const MAX_HOSTS = 100;
export const MAX_L7_PORT_RANGES = 16;
export const MAX_ROUTES = 32;
export const MAX_HEADERS = 16;
export const MAX_SOURCES = 10_000;

const fromProblem = (problemOf: (value: string) => string | undefined) =>
  z.superRefine((value: string, ctx) => {
    const problem = problemOf(value);
    if (problem !== undefined)
      ctx.addIssue({ code: 'custom', input: value, message: `${problem}, got ${quote(value)}` });
  });

const port = z
  .number({ error: 'must be a port number' })
  .check(
    z.int('must be a whole number'),
    z.minimum(1, 'must be at least 1'),
    z.maximum(65535, 'must be at most 65535'),
  );

const portRange = z
  .strictObject({ start: port, end: port })
  .check(z.refine((range) => range.start <= range.end, { message: 'start must not be greater than end' }));

const headerValue = z.string({ error: 'must be a string' }).check(fromProblem(headerValueProblem));

const route = z.strictObject({
  methods: z.optional(
    z
      .array(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }))
      .check(z.minLength(1, 'must not be empty (leave it out for any method)')),
  ),
  path_regex: z.optional(z.string({ error: 'must be a string' }).check(fromProblem(pathRegexProblem))),
  headers: z.optional(
    z.record(z.string(), headerValue).check(
      z.superRefine((headers, ctx) => {
        for (const name of Object.keys(headers)) {
          const problem = headerNameProblem(name);
          if (problem !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [name],
              input: name,
              message: `header name ${problem}, got ${quote(name)}`,
            });
          }
        }
      }),
      z.refine((headers) => Object.keys(headers).length <= MAX_HEADERS, `must hold at most ${MAX_HEADERS} headers`),
      z.refine(
        (headers) =>
          new Set(Object.keys(headers).map((name) => name.toLowerCase())).size === Object.keys(headers).length,
        'must not name a header twice (names are case-insensitive)',
      ),
    ),
  ),
});

export const l7RuleSchema = z
  .strictObject({
    id: identifierSchema,
    protocol: z.enum(L7_PROTOCOLS, { error: 'must be http or https' }),
    hosts: z
      .array(z.string({ error: 'must be a string' }).check(fromProblem((host) => hostNameProblem(lowerAscii(host)))))
      .check(z.minLength(1, 'must name at least one host'), z.maxLength(MAX_HOSTS, `must name at most ${MAX_HOSTS}`)),
    ports: z
      .array(portRange)
      .check(
        z.minLength(1, 'must hold at least one range'),
        z.maxLength(MAX_L7_PORT_RANGES, `must hold at most ${MAX_L7_PORT_RANGES} ranges`),
      ),
    routes: z.optional(z.array(route).check(z.maxLength(MAX_ROUTES, `must hold at most ${MAX_ROUTES} routes`))),
    sources: z
      .array(
        z
          .string({ error: 'must be a string' })
          .check(z.refine((ip: string) => isIpv4(ip), 'must be an IPv4 address (a container)')),
      )
      .check(z.maxLength(MAX_SOURCES, `must list at most ${MAX_SOURCES}`)),
  })
  .check(
    z.superRefine((rule, ctx) => {
      if (rule.protocol !== 'http' && rule.routes !== undefined && rule.routes.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes'],
          input: rule.routes,
          message: 'only http destinations have routes',
        });
      }
    }),
  );

const l7RulesSchema = z
  .array(l7RuleSchema)
  .check(z.maxLength(MAX_L7_RULES, `must hold at most ${MAX_L7_RULES} destinations`));

/**
 * Validates the proxy's input; throws a ValidationError naming every problem. Besides each entry's
 * own rules: ids are unique, and no container reaches one port as http through one destination and
 * as https through another (its connections to a port go to one listener of the proxy).
 */
export function parseL7Rules(value: unknown): L7Rule[] {
  const result = z.safeParse(l7RulesSchema, value);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({ ...issue, path: ['l7 rules', ...issue.path] }));
    throw new ValidationError(formatIssues(issues));
  }
  const rules: L7Rule[] = result.data;
  const problems = [...duplicateIds(rules), ...protocolConflicts(rules)];
  if (problems.length > 0) throw new ValidationError(problems.join('; '));
  return rules;
}

function duplicateIds(rules: readonly L7Rule[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const rule of rules) {
    if (seen.has(rule.id)) problems.push(`l7 rules: id ${quote(rule.id)} is listed twice`);
    seen.add(rule.id);
  }
  return problems;
}

function protocolConflicts(rules: readonly L7Rule[]): string[] {
  const bySource = new Map<string, { protocol: L7Protocol; start: number; end: number; id: string }[]>();
  for (const rule of rules) {
    for (const source of new Set(rule.sources)) {
      const ranges = bySource.get(source) ?? [];
      for (const range of rule.ports) ranges.push({ protocol: rule.protocol, ...range, id: rule.id });
      bySource.set(source, ranges);
    }
  }
  const problems: string[] = [];
  for (const [source, ranges] of bySource) {
    // Sorted by start: a range overlaps an earlier one exactly when it starts before the furthest end so far.
    ranges.sort((a, b) => a.start - b.start);
    const furthest: Partial<Record<L7Protocol, { end: number; id: string }>> = {};
    for (const range of ranges) {
      const other = furthest[range.protocol === 'http' ? 'https' : 'http'];
      if (other !== undefined && range.start <= other.end) {
        problems.push(
          `l7 rules: ${source} would reach a port both as http and as https (${quote(other.id)} and ${quote(range.id)})`,
        );
        break;
      }
      const own = furthest[range.protocol];
      if (own === undefined || range.end > own.end) furthest[range.protocol] = { end: range.end, id: range.id };
    }
  }
  return problems;
}
