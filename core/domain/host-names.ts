// Host names a destination may hold (`hosts`): exact RFC 1123 names, and `*.example.com` wildcards
// that match exactly one more label (Cilium's matchPattern). Pure checks, shared by the API's input
// schema, the agent's document schema and its fast path: one definition of what a host name is, and
// of what a wildcard matches (the cell proxy's configuration and explain both use wildcardRegex).
// Names are stored in lower case (DNS compares names without case); nothing here can hold a space,
// a quote, `#` or a backslash, so a name can be written into a resolver or proxy configuration line
// as it is.

/** RFC 1123: a whole name (without the root's trailing dot) is at most 253 characters. */
export const MAX_HOST_NAME_LENGTH = 253;
/** RFC 1123: one label is 1-63 characters. */
export const MAX_HOST_LABEL_LENGTH = 63;

/** The first label of a wildcard name: matches exactly one label, never none and never two. */
export const WILDCARD_LABEL = '*';

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const LABEL_CHARACTERS = /^[a-z0-9-]*$/;

/**
 * ASCII letters in lower case, nothing else changed. `toLowerCase` would also fold non-ASCII
 * letters, some into ASCII (the Kelvin sign U+212A becomes `k`), letting a name that looks like
 * another pass as it: those stay as they are and are refused.
 */
export function lowerAscii(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** True for a wildcard name (`*.example.com`); it still has to pass hostNameProblem. */
export function isWildcardHost(name: string): boolean {
  return name.startsWith(`${WILDCARD_LABEL}.`);
}

/** What is wrong with one label, or undefined. */
function labelProblem(label: string): string | undefined {
  if (label.length === 0) return 'must not start or end with "." or hold ".." (no empty label, no root dot)';
  if (label.length > MAX_HOST_LABEL_LENGTH) {
    return `label ${JSON.stringify(label.slice(0, 20))}… must be at most ${MAX_HOST_LABEL_LENGTH} characters`;
  }
  if (!LABEL_CHARACTERS.test(label)) {
    return label.includes(WILDCARD_LABEL)
      ? 'may hold "*" only as its whole first label (*.example.com)'
      : `label ${JSON.stringify(label)} may hold only a-z, 0-9 and "-"`;
  }
  if (!LABEL.test(label)) return `label ${JSON.stringify(label)} must not start or end with "-"`;
  return undefined;
}

/**
 * What is wrong with a host name in its stored form (lower case), or undefined: at most 253
 * characters; at least two labels; each label 1-63 characters of a-z, 0-9 and `-`, not starting or
 * ending with `-`; the last label (the top-level domain) starting with a letter, so that no IPv4
 * literal in any form a resolver takes (`10.0.0.1`, `10.1`, `0x0a.1`) passes for a name. A wildcard
 * is `*.` followed by such a name (so `*.com` is refused: a wildcard never spans a whole top-level domain).
 */
export function hostNameProblem(name: string): string | undefined {
  if (name.length > MAX_HOST_NAME_LENGTH) return `must be at most ${MAX_HOST_NAME_LENGTH} characters`;
  if (/[A-Z]/.test(name)) return 'must be in lower case';
  const exact = isWildcardHost(name) ? name.slice(WILDCARD_LABEL.length + 1) : name;
  const labels = exact.split('.');
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem !== undefined) return problem;
  }
  if (labels.length < 2) return 'must have at least two labels (e.g. example.com)';
  const last = labels[labels.length - 1] ?? '';
  if (!/^[a-z]/.test(last)) return 'must not be an IP address: its last label must start with a letter';
  return undefined;
}

/** hostNameProblem for a value of any type: true for a stored host name. */
export function isHostName(value: unknown): value is string {
  return typeof value === 'string' && hostNameProblem(value) === undefined;
}

/**
 * An anchored PCRE (and JavaScript) regex matching exactly the names `*.suffix` stands for: one label,
 * then the suffix, the whole name at most MAX_HOST_NAME_LENGTH long. `pattern` must be valid (its
 * dots are escaped; it holds nothing else a regex reads).
 */
export function wildcardRegex(pattern: string): string {
  const suffix = pattern.slice(2).toLowerCase();
  const room = Math.min(MAX_HOST_LABEL_LENGTH, MAX_HOST_NAME_LENGTH - suffix.length - 1);
  const label = room >= 2 ? `[a-z0-9]([a-z0-9-]{0,${room - 2}}[a-z0-9])?` : '[a-z0-9]';
  return `^${label}\\.${suffix.replaceAll('.', '\\.')}$`;
}

/**
 * Whether `name` (as a client sends it: any case, no port) is one `pattern` names: the same name, or
 * for `*.suffix` exactly one more label, by wildcardRegex: the proxy's own test, run in JavaScript.
 */
export function hostMatches(pattern: string, name: string): boolean {
  const lower = lowerAscii(name);
  return isWildcardHost(pattern) ? new RegExp(wildcardRegex(pattern)).test(lower) : pattern === lower;
}
