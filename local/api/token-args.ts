// `npm run token`'s arguments: any number of `--scope SCOPE` (default: the issuer's network.admin)
// and `--ttl SECONDS` (default 3600; the last one counts).
import type { Parsed } from '../command-line.js';

export interface TokenOptions {
  /** Empty: the issuer's default scope. */
  readonly scopes: readonly string[];
  readonly ttlSeconds: number;
}

const USAGE = 'use --scope SCOPE, --ttl SECONDS';

export function parseTokenArgs(argv: readonly string[]): Parsed<TokenOptions> {
  const scopes: string[] = [];
  let ttlSeconds = 3600;
  for (let index = 0; index < argv.length; index += 2) {
    const arg = argv[index];
    const value = argv[index + 1];
    if ((arg === '--scope' || arg === '--ttl') && value === undefined) {
      return { ok: false, error: `${arg} needs a value` };
    }
    if (arg === '--scope' && value !== undefined) scopes.push(value);
    else if (arg === '--ttl' && value !== undefined && /^\d+$/.test(value)) ttlSeconds = Number(value);
    else return { ok: false, error: `unknown or invalid argument ${JSON.stringify(arg)} (${USAGE})` };
  }
  return { ok: true, options: { scopes, ttlSeconds } };
}
