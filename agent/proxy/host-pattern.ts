// What a wildcard host (`*.example.com`, core/domain/host-names.ts) becomes in the proxy's
// configuration: an anchored regex matching exactly one more label. Names are validated by the
// domain's hostNameProblem; what reaches the text is only ever [a-z0-9.-] and this regex.
import { MAX_HOST_LABEL_LENGTH, MAX_HOST_NAME_LENGTH } from '../../core/domain/host-names.js';

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
