// `npm run token`'s arguments: any number of `--scope SCOPE` (default: the issuer's network.admin)
// and `--ttl SECONDS` (default 3600; the last one counts). The table below is also its `--help`.
import { type CommandLineSpec, helpText, type Parsed, readCommandLine } from '../command-line.js';

export interface TokenOptions {
  /** Empty: the issuer's default scope. */
  readonly scopes: readonly string[];
  readonly ttlSeconds: number;
}

const DEFAULT_TTL_SECONDS = 3600;

export const TOKEN_COMMAND_LINE: CommandLineSpec = {
  usage: 'npm run --silent token -- [--scope SCOPE]... [--ttl SECONDS]',
  summary:
    'Prints a bearer token signed by the local issuer (its key is made on first use in the local state\n' +
    'folder, .local/ or EGRESS_LOCAL_DIR), for the API that `npm start` serves.',
  options: {
    scope: {
      value: 'SCOPE',
      description: 'a scope the token carries; repeat for more',
      default: 'network.admin',
      repeatable: true,
    },
    ttl: {
      value: 'SECONDS',
      description: 'how long the token is valid, in whole seconds',
      default: `${DEFAULT_TTL_SECONDS}`,
    },
  },
  notes: [
    'examples:',
    '  export TOKEN="$(npm run --silent token)"',
    '  npm run --silent token -- --scope cloud_controller.read --ttl 60',
  ],
};

export const tokenHelp = (): string => helpText(TOKEN_COMMAND_LINE);

export function parseTokenArgs(argv: readonly string[]): Parsed<TokenOptions> {
  const read = readCommandLine(TOKEN_COMMAND_LINE, argv);
  if (!read.ok) return read;
  const scopes = read.options.get('scope') ?? [];
  // A scope is one token (RFC 6749 §3.3): a space in one would smuggle a second scope past a reader that splits.
  const badScope = scopes.find((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope));
  if (badScope !== undefined) {
    return {
      ok: false,
      error: `--scope: ${JSON.stringify(badScope)} is not a valid scope (expected one word of printable ASCII without spaces, quotes or backslashes, e.g. network.admin)`,
    };
  }
  const ttl = read.options.get('ttl')?.at(-1);
  if (ttl !== undefined && !/^\d+$/.test(ttl)) {
    return {
      ok: false,
      error: `--ttl: ${JSON.stringify(ttl)} is not a valid TTL (expected whole seconds, 0 or more, e.g. --ttl 60)`,
    };
  }
  return { ok: true, options: { scopes, ttlSeconds: ttl === undefined ? DEFAULT_TTL_SECONDS : Number(ttl) } };
}
