// GET /explain's query: every parameter is a string in a URL, checked here into the pure explain
// query (core/plan/explain.ts). A bad one is a 400 naming it; nothing is read from the table first.
import * as z from 'zod/mini';
import { ValidationError } from '../../core/domain/errors.js';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { IDENTIFIER_PATTERN, PACKET_PROTOCOLS } from '../../core/domain/model-primitives.js';
import { CONTAINER_WORKLOADS } from '../../core/domain/security-group.js';
import { formatIssues } from '../../core/domain/validation.js';
import type { ExplainQuery } from '../../core/plan/explain.js';

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
  ip: z.string().check(z.refine(isIpv4, 'must be an IPv4 address such as 198.51.100.7')),
  protocol: z.enum(PACKET_PROTOCOLS, { error: `must be one of ${PACKET_PROTOCOLS.join(', ')}` }),
  port: z.optional(integer(1, 65535)),
  icmp_type: z.optional(integer(0, 255)),
  icmp_code: z.optional(integer(0, 255)),
});

const required = (field: string) => `${field}: is required`;

/** The query of an explain request; a ValidationError (400) naming every bad parameter. */
export function parseExplainQuery(query: Readonly<Record<string, string | undefined>>): ExplainQuery {
  const present = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
  const parsed = z.safeParse(explainQuerySchema, present);
  if (!parsed.success) {
    // zod says "expected string" for a missing parameter; say what to do instead.
    const problems = parsed.error.issues.map((issue) =>
      issue.code === 'invalid_type' && issue.path.length === 1 ? { ...issue, message: 'is required' } : issue,
    );
    throw new ValidationError(formatIssues(problems, 'query'));
  }
  const { app, space, org, workload, ip, protocol, port, icmp_type, icmp_code } = parsed.data;
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
  if (protocol === 'icmp') {
    if (port !== undefined) problems.push('port: is only allowed for protocol tcp or udp');
    if (type === undefined && code !== undefined) problems.push(required('icmp_type'));
  } else {
    if (port === undefined) problems.push(`${required('port')} for protocol ${protocol}`);
    if (icmp_type !== undefined) problems.push('icmp_type: is only allowed for protocol icmp');
    if (icmp_code !== undefined) problems.push('icmp_code: is only allowed for protocol icmp');
  }
  if (problems.length > 0) throw new ValidationError(problems.join('; '));
  // Source ids are stored in lower case (CF's GUIDs are), and cells get them from CF that way.
  return {
    app: app.toLowerCase(),
    space: space.toLowerCase(),
    ...(org === undefined ? {} : { org: org.toLowerCase() }),
    workload: workload ?? 'app',
    ip,
    protocol,
    ...(portNumber === undefined ? {} : { port: portNumber }),
    ...(protocol === 'icmp' ? { icmp: { type: type ?? DEFAULT_ICMP.type, code: code ?? DEFAULT_ICMP.code } } : {}),
  };
}
