// Host names the agent resolves: exact, fully qualified, lower-case names as RFC 1123 (section 2.1)
// allows them. Checked before any lookup, so nothing else ever reaches the resolver.

/** RFC 1035 2.3.4: a name of at most 255 octets on the wire, 253 characters as text without the final dot. */
export const MAX_HOST_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Why `name` is not a host name the agent resolves, or undefined when it is one. Refused: upper case
 * (names are written lower-case, not folded here), a wildcard or any character outside `a-z 0-9 - .`,
 * an empty label (leading, trailing or doubled dot), a label longer than 63 characters or starting or
 * ending with `-`, a single label (the resolver would try search domains), an all-numeric last label
 * (RFC 1123 2.1: it would read as an address).
 */
export function hostNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_HOST_NAME_LENGTH) return `must be at most ${MAX_HOST_NAME_LENGTH} characters`;
  if (name.includes('*')) return 'must be an exact name, not a wildcard';
  if (/[A-Z]/.test(name)) return 'must be lower-case';
  const labels = name.split('.');
  if (labels.length < 2) return 'must be a fully qualified name (at least two labels)';
  for (const label of labels) {
    if (label.length === 0) return 'must not have an empty label (a leading, trailing or doubled dot)';
    if (label.length > MAX_LABEL_LENGTH) return `labels must be at most ${MAX_LABEL_LENGTH} characters`;
    if (!LABEL.test(label)) return 'labels are letters a-z, digits and inner hyphens';
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return 'the last label must not be all digits';
  return undefined;
}

export const isHostName = (name: string): boolean => hostNameProblem(name) === undefined;
