// Where egressctl sends requests and with which token: --api / --token, else EGRESS_API /
// EGRESS_TOKEN, else the local mode running in the state folder (its pid file names its URL, and a
// token is minted with its issuer key, as `npm run token` does). A token is minted only for a
// loopback API: local mode's key means nothing to a deployed one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ISSUER_KEY_FILE, openLocalIssuer } from '../local/api/issuer.js';
import { localStateDir } from '../local/paths.js';
import { runningInstance } from '../local/pid-file.js';
import { Unreachable, UsageError } from './errors.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Target {
  /** Without a trailing slash, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  readonly token: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function baseUrlOf(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${from}: ${JSON.stringify(value)} is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(
      `${from}: ${JSON.stringify(value)} is not an http(s) URL (expected e.g. http://127.0.0.1:8080)`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

/** `cf oauth-token` prints `bearer eyJ…`: the prefix is dropped, the request adds its own. */
const bareToken = (token: string): string => token.trim().replace(/^bearer\s+/i, '');

export async function resolveTarget(flags: { api?: string; token?: string }, env: Environment): Promise<Target> {
  const stateDir = localStateDir(env);
  const local = flags.api === undefined && env.EGRESS_API === undefined ? runningInstance(stateDir) : undefined;
  const given = flags.api ?? env.EGRESS_API;
  const from = flags.api !== undefined ? '--api' : 'EGRESS_API';
  let baseUrl: string;
  if (given !== undefined) baseUrl = baseUrlOf(given, from);
  else if (local?.url !== undefined) baseUrl = local.url;
  else {
    throw new Unreachable(
      local === undefined ? 'no API to talk to' : `local mode (pid ${local.pid}) is still starting`,
      'pass --api URL or set EGRESS_API (e.g. http://127.0.0.1:8080), or start local mode with `npm start`',
    );
  }
  const token = flags.token ?? env.EGRESS_TOKEN;
  if (token !== undefined && bareToken(token) !== '') return { baseUrl, token: bareToken(token) };
  if (LOOPBACK_HOSTS.has(new URL(baseUrl).hostname) && existsSync(join(stateDir, ISSUER_KEY_FILE))) {
    const issuer = await openLocalIssuer(stateDir);
    return { baseUrl, token: await issuer.sign() };
  }
  throw new Unreachable(
    'no token',
    'set EGRESS_TOKEN or pass --token (for local mode: `export EGRESS_TOKEN="$(npm run --silent token)"`)',
  );
}
