// `npm run --silent token [-- --scope SCOPE]...`: prints a bearer token from the local issuer on its
// last line. Default scope: network.admin. `--ttl SECONDS` sets the lifetime (default 3600).
import { openLocalIssuer } from '../local/api/issuer.js';
import { localStateDir } from '../local/paths.js';

const scopes: string[] = [];
let ttlSeconds = 3600;
const args = process.argv.slice(2);
for (let index = 0; index < args.length; index += 1) {
  const arg = args[index];
  const value = args[index + 1];
  if ((arg === '--scope' || arg === '--ttl') && value === undefined) {
    console.error(`error: ${arg} needs a value`);
    process.exit(2);
  }
  if (arg === '--scope') scopes.push(String(value));
  else if (arg === '--ttl' && /^\d+$/.test(String(value))) ttlSeconds = Number(value);
  else {
    console.error(`error: unknown or invalid argument ${JSON.stringify(arg)} (use --scope SCOPE, --ttl SECONDS)`);
    process.exit(2);
  }
  index += 1;
}

const issuer = await openLocalIssuer(localStateDir());
console.log(await issuer.sign({ ...(scopes.length > 0 ? { scopes } : {}), ttlSeconds }));
