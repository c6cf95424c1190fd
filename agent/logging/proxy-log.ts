// One refusal the cell proxy logged (agent/proxy/haproxy-config.ts: a JSON object per UDP datagram,
// `format raw`) plus who owns the source address → one line in the shape of the connection log's
// (enrich.ts), with the request in place of the packet:
//   {"timestamp", "source": "dynamic-egress", "message": "dynamic-egress.http-denied" | ".https-denied",
//    "log_level": 1, "data": {"request": {protocol, src_ip, dst_port, host, method, path, status,
//    destination_id, reason}, "source": {container_id, app_guid, space_guid, organization_guid}}}
// `reason`: `host` (no destination of the container names the host on that port), `route` (one does,
// but none of its routes takes the request), `unresolved`, `refused-address` (the name resolves into a
// refused network), `not-tls` (https: no ClientHello). Decoded with zod: the datagram comes from
// another program, and anything on the cell may send to the port.
import * as z from 'zod/mini';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { type Identities, LOG_SOURCE } from './enrich.js';

export const PROXY_REASONS = ['host', 'route', 'unresolved', 'refused-address', 'not-tls'] as const;

const text = (max: number) => z.string().check(z.maxLength(max));
const proxyRecordSchema = z.object({
  proxy: z.enum(['http', 'https']),
  src: z.string().check(z.refine(isIpv4)),
  dst_port: z.number().check(z.int(), z.gte(0), z.lte(65535)),
  host: text(300),
  method: z.optional(text(32)),
  path: z.optional(text(4096)),
  status: z.optional(z.number().check(z.int(), z.gte(0), z.lte(999))),
  destination: text(200),
  reason: z.enum(PROXY_REASONS),
});

export interface ProxyLogLine {
  readonly timestamp: string;
  readonly source: typeof LOG_SOURCE;
  readonly message: string;
  readonly log_level: 1;
  readonly data: {
    readonly request: {
      readonly protocol: 'http' | 'https';
      readonly src_ip: string;
      readonly dst_port: number;
      readonly host: string;
      readonly method: string;
      readonly path: string;
      readonly status: number;
      /** The destination whose name matched (a refused or unresolved address), or ''. */
      readonly destination_id: string;
      readonly reason: (typeof PROXY_REASONS)[number];
    };
    readonly source: {
      readonly container_id: string;
      readonly app_guid: string;
      readonly space_guid: string;
      readonly organization_guid: string;
    };
  };
}

/** HAProxy prints a variable never set as `-`. */
const orEmpty = (value: string | undefined): string => (value === undefined || value === '-' ? '' : value);

/** One datagram's text → the enriched line, or undefined when it is not a record of the proxy's. */
export function enrichProxyRecord(
  record: string,
  identities: Identities,
  now: () => Date = () => new Date(),
): ProxyLogLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch {
    return undefined;
  }
  const parsed = z.safeParse(proxyRecordSchema, value);
  if (!parsed.success) return undefined;
  const { proxy, src, dst_port, host, method, path, status, destination, reason } = parsed.data;
  const identity = identities.get(src);
  return {
    timestamp: now().toISOString(),
    source: LOG_SOURCE,
    message: `${LOG_SOURCE}.${proxy}-denied`,
    log_level: 1,
    data: {
      request: {
        protocol: proxy,
        src_ip: src,
        dst_port,
        host: orEmpty(host),
        method: orEmpty(method),
        path: orEmpty(path),
        status: status ?? 0,
        destination_id: orEmpty(destination),
        reason,
      },
      source: {
        container_id: identity?.handle ?? '',
        app_guid: identity?.appGuid ?? '',
        space_guid: identity?.spaceGuid ?? '',
        organization_guid: identity?.orgGuid ?? '',
      },
    },
  };
}
