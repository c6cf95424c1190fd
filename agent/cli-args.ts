// Argument checks shared by both forms of `agent sync`.
import { normalizeCidr } from './cidr.js';
import { UsageError } from './errors.js';

/** The overlay network as a normalized CIDR block, or a UsageError naming the flag. */
export function overlayCidrArgument(value: string): string {
  try {
    return normalizeCidr(value);
  } catch {
    throw new UsageError(
      `--overlay-cidr: must be an IPv4 CIDR block such as 10.255.0.0/16, got ${JSON.stringify(value)}`,
    );
  }
}
