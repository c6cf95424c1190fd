// The names an L7 destination may match: exact RFC 1123 host names, and `*.example.com`, which
// matches exactly one more label (`a.example.com`, never `a.b.example.com` or `example.com`), as
// Cilium's `matchPattern` does. Pure. A name is compared lower-case; what reaches the proxy's
// configuration is only ever [a-z0-9.-] (and, for a wildcard, the regex built here from that).

export const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` (lower-cased) is not an exact host name we accept, or undefined. */
export function hostNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  const labels = name.toLowerCase().split('.');
  if (labels.some((label) => !LABEL.test(label))) {
    return 'must be a host name: dot-separated labels of 1-63 letters, digits or inner hyphens (RFC 1123)';
  }
  // `10.0.0.1` is a valid RFC 1123 name by its letters but an address to a resolver: a name only.
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? ''))
    return 'must not end in an all-numeric label (an address is not a name)';
  return undefined;
}

/** Why `pattern` is neither an exact name nor a one-label wildcard we accept, or undefined. */
export function hostPatternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith('*.')) {
    return pattern.includes('*')
      ? 'may hold `*` only as its whole first label (`*.example.com`)'
      : hostNameProblem(pattern);
  }
  const suffix = pattern.slice(2);
  const problem = hostNameProblem(suffix);
  if (problem !== undefined) return `after \`*.\` ${problem}`;
  if (!suffix.includes('.')) return 'must name at least two labels after `*.` (`*.example.com`, not `*.com`)';
  if (suffix.length + 2 > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  return undefined;
}

export const isWildcard = (pattern: string): boolean => pattern.startsWith('*.');

/**
 * An anchored PCRE (and JavaScript) regex matching exactly the names `*.suffix` stands for: one label,
 * then the suffix, the whole name at most MAX_NAME_LENGTH long. `suffix` must be valid (its dots are
 * escaped; it holds nothing else a regex reads).
 */
export function wildcardRegex(pattern: string): string {
  const suffix = pattern.slice(2).toLowerCase();
  const room = Math.min(MAX_LABEL_LENGTH, MAX_NAME_LENGTH - suffix.length - 1);
  const label = room >= 2 ? `[a-z0-9]([a-z0-9-]{0,${room - 2}}[a-z0-9])?` : '[a-z0-9]';
  return `^${label}\\.${suffix.replaceAll('.', '\\.')}$`;
}
