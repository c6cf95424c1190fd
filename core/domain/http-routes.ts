// What an `http` destination's routes may say: methods, a path regex (path-regex.ts) and headers
// that must be present with an exact value. Pure checks and limits, shared by the API's input
// schema, the agent's document schema and the fast path. Header names and values are kept to a
// set that can be written into a proxy configuration line as it is: no whitespace but single
// spaces inside a value, no quotes, backslashes, `#` or `$`.

/** The standard request methods (RFC 9110 and PATCH, RFC 5789), as HTTP spells them: upper case. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** The most routes one destination may hold. */
export const MAX_ROUTES = 20;
/** The most headers one route may require. */
export const MAX_ROUTE_HEADERS = 10;
export const MAX_HEADER_NAME_LENGTH = 64;
export const MAX_HEADER_VALUE_LENGTH = 256;

/**
 * Headers a route may not match on: hop-by-hop ones (RFC 9110 7.6.1; the proxy may add, drop or
 * rewrite them), those that frame the message, and Host (the destination's `hosts` match it).
 */
export const REFUSED_HEADER_NAMES: readonly string[] = [
  'connection',
  'content-length',
  'expect',
  'host',
  'http2-settings',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** A header name as stored: lower case letters, digits, `-` and `_`, starting with a letter or digit. */
const HEADER_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A value: printable ASCII (`!` to `~`) with single spaces between, and none of REFUSED_IN_VALUES. */
const HEADER_VALUE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;
/** Quotes, backslash, `#`, `$` and the backquote: what a configuration line could read as syntax. */
const REFUSED_IN_VALUES = /["'\\#$`]/;

/** What is wrong with a header name in its stored form (lower case), or undefined. */
export function headerNameProblem(name: string): string | undefined {
  if (name.length > MAX_HEADER_NAME_LENGTH) return `must be at most ${MAX_HEADER_NAME_LENGTH} characters`;
  if (/[A-Z]/.test(name)) return 'must be in lower case';
  if (!HEADER_NAME.test(name)) return 'must be 1 or more of a-z, 0-9, "-" and "_", starting with a letter or digit';
  if (REFUSED_HEADER_NAMES.includes(name)) return 'is not a header a route may match (hop-by-hop, framing or Host)';
  return undefined;
}

/** What is wrong with a header value, or undefined. */
export function headerValueProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_HEADER_VALUE_LENGTH) return `must be at most ${MAX_HEADER_VALUE_LENGTH} characters`;
  const refused = REFUSED_IN_VALUES.exec(value);
  if (refused) return `must not hold ${JSON.stringify(refused[0])}`;
  if (!HEADER_VALUE.test(value)) {
    return 'must be printable ASCII, with single spaces only between other characters (no tabs, line breaks or leading, trailing or double spaces)';
  }
  return undefined;
}

/** A route as stored and sent: absent fields match anything; no routes at all means any request. */
export interface HttpRoute {
  methods?: HttpMethod[];
  path_regex?: string;
  headers?: Record<string, string>;
}
