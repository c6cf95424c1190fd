// `npm run --silent token [-- --scope SCOPE]... [--ttl SECONDS]`: prints a bearer token from the
// local issuer (the key in the local state folder) on its last line. Resolves with the exit code.
import { EXIT_USAGE } from '../command-line.js';
import { localStateDir } from '../paths.js';
import { openLocalIssuer } from './issuer.js';
import { parseTokenArgs } from './token-args.js';

export async function runTokenCommand(argv: readonly string[]): Promise<number> {
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
