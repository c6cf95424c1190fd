// The parts of an HTTP route besides its path: methods from the standard set, and exact header
// matches. Pure. Header names are tokens of letters, digits and hyphens (no `_`, which servers
// treat differently), never one of the headers that frame the message or that the host list
// already decides; values are printable ASCII without quotes, backslashes, `#` or `$`, so each
// reaches the proxy's configuration as one single-quoted word that needs no escaping.

/** RFC 9110's methods, and PATCH (RFC 5789). */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const isHttpMethod = (value: string): value is HttpMethod => HTTP_METHODS.some((method) => method === value);

export const MAX_HEADER_NAME_LENGTH = 64;
export const MAX_HEADER_VALUE_LENGTH = 256;

/**
 * Headers a route may not match on: `host` (the destination's `hosts` decide it) and those that frame
 * the message or the connection, which the proxy itself reads and rewrites.
 */
export const REFUSED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'proxy-connection',
]);

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

export function headerNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_HEADER_NAME_LENGTH) {
    return `must be 1-${MAX_HEADER_NAME_LENGTH} characters`;
  }
  if (!HEADER_NAME.test(name)) return 'must be letters, digits and hyphens, starting with a letter or digit';
  if (REFUSED_HEADERS.has(name.toLowerCase())) return `must not be ${name.toLowerCase()} (the proxy decides it)`;
  return undefined;
}

/** Printable ASCII from `!` to `~` and inner spaces, without `'`, `"`, `\`, `#`, `$`. */
const HEADER_VALUE = /^[!%&(-[\]-~](?:[ !%&(-[\]-~]*[!%&(-[\]-~])?$/;

export function headerValueProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_HEADER_VALUE_LENGTH) {
    return `must be 1-${MAX_HEADER_VALUE_LENGTH} characters`;
  }
  if (!HEADER_VALUE.test(value)) {
    return 'must be printable ASCII without quotes, backslashes, `#`, `$`, or spaces at either end';
  }
  return undefined;
}
