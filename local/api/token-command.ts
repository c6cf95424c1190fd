// `npm run --silent token [-- --scope SCOPE]... [--ttl SECONDS]`: prints a bearer token from the
// local issuer (the key in the local state folder) on its last line; `--help` prints the usage and
// touches nothing. Resolves with the exit code.
import { EXIT_USAGE, helpRequested } from '../command-line.js';
import { localStateDir } from '../paths.js';
import { openLocalIssuer } from './issuer.js';
import { parseTokenArgs, tokenHelp } from './token-args.js';

export async function runTokenCommand(argv: readonly string[]): Promise<number> {
  if (helpRequested(argv)) {
    console.log(tokenHelp());
    return 0;
  }
  const parsed = parseTokenArgs(argv);
  if (!parsed.ok) {
    console.error(`error: ${parsed.error}`);
    return EXIT_USAGE;
  }
  const { scopes, ttlSeconds } = parsed.options;
  const issuer = await openLocalIssuer(localStateDir());
  console.log(await issuer.sign({ ...(scopes.length > 0 ? { scopes } : {}), ttlSeconds }));
  return 0;
}
