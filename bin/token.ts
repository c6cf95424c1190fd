// `npm run --silent token [-- --scope SCOPE]... [--ttl SECONDS] | --help`: a bearer token from the local
// issuer (local/api/token-command.ts).
import { runTokenCommand } from '../local/api/token-command.js';

process.exitCode = await runTokenCommand(process.argv.slice(2));
