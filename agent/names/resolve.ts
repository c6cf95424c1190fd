// One name → its IPv4 addresses and their TTLs, asked of given nameservers with node's resolver
// (c-ares: it reads neither /etc/hosts nor nsswitch, it asks exactly the servers it is given).
// Never throws: a failure is a value the caller keeps the previous answer for (name-state.ts).
import { promises as dns } from 'node:dns';
import { hostNameProblem } from './host-name.js';

export interface ResolvedAddress {
  readonly address: string;
  /** Seconds, as the answer gave it. */
  readonly ttl: number;
}

/**
 * `answered`: the servers answered; no address (NXDOMAIN, or no A record) is an answer too.
 * `failed`: no answer (timeout, refused, SERVFAIL, a name refused before asking).
 */
export type Lookup =
  | { readonly kind: 'answered'; readonly addresses: readonly ResolvedAddress[] }
  | { readonly kind: 'failed'; readonly problem: string };

export type ResolveName = (name: string) => Promise<Lookup>;

export interface DnsResolverOptions {
  /** Addresses of the servers to ask (resolv-conf.ts reads the cell's). */
  readonly nameservers: readonly string[];
  /** Per try. @default 2000 */
  readonly timeoutMs?: number;
  /** @default 2 */
  readonly tries?: number;
}

export const DEFAULT_LOOKUP_TIMEOUT_MS = 2000;
export const DEFAULT_LOOKUP_TRIES = 2;

/** c-ares codes that are an answer saying the name has no IPv4 address. */
const NO_ADDRESS: ReadonlySet<string> = new Set([dns.NOTFOUND, dns.NODATA]);

export function dnsResolver(options: DnsResolverOptions): ResolveName {
  const resolver = new dns.Resolver({
    timeout: options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
    tries: options.tries ?? DEFAULT_LOOKUP_TRIES,
  });
  resolver.setServers([...options.nameservers]);
  return async (name) => {
    const problem = hostNameProblem(name);
    if (problem !== undefined) return { kind: 'failed', problem: `not looked up: ${problem}` };
    try {
      const records = await resolver.resolve4(name, { ttl: true });
      return { kind: 'answered', addresses: records.map((record) => ({ address: record.address, ttl: record.ttl })) };
    } catch (error) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
      if (code !== undefined && NO_ADDRESS.has(code)) return { kind: 'answered', addresses: [] };
      return {
        kind: 'failed',
        problem: `lookup failed: ${code ?? (error instanceof Error ? error.message : String(error))}`,
      };
    }
  };
}
