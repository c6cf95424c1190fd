// One ulogd JSON record (ulogd-config.ts: NFLOG → BASE → IP2STR → JSON) plus who owns the source
// address → one line shaped as Cloud Foundry's iptables-logger writes them:
//   {"timestamp", "source": "dynamic-egress", "message": "dynamic-egress.egress-denied", "log_level": 1,
//    "data": {"packet": {direction, allowed, src_ip, src_port, dst_ip, dst_port, protocol, icmp_type,
//    icmp_code}, "source": {container_id, app_guid, space_guid, organization_guid}}}
// Fields a packet does not have (ports of ICMP, ICMP type of TCP) are 0, as CF writes them; a source
// the containers file does not list has empty identity strings. Pure: both inputs are text, decoded
// here with zod (they come from other programs), never trusted as they are.
import * as z from 'zod/mini';
import { isIpv4 } from '../../core/domain/ipv4.js';
import { ALLOW_LOG_PREFIX, DENY_LOG_PREFIX } from '../../core/plan/deny-log.js';

/** The `source` of every line, and the prefix of its `message`. */
export const LOG_SOURCE = 'dynamic-egress';
/** NFLOG prefix → the end of `message`. */
export const PREFIX_MESSAGES: Readonly<Record<string, string>> = {
  [DENY_LOG_PREFIX]: 'egress-denied',
  [ALLOW_LOG_PREFIX]: 'egress-allowed',
};

/** Who a container is, from the containers file. */
export interface ContainerIdentity {
  readonly handle: string;
  readonly appGuid: string;
  readonly spaceGuid: string;
  readonly orgGuid: string;
}

/** Container IP → identity. */
export type Identities = ReadonlyMap<string, ContainerIdentity>;

const port = z.number().check(z.int(), z.gte(0), z.lte(65535));
const byte = z.number().check(z.int(), z.gte(0), z.lte(255));
const ipv4 = z.string().check(z.refine(isIpv4));

/** What the forwarder reads of a ulogd JSON record; every other key is ignored. */
const ulogdRecordSchema = z.object({
  'oob.prefix': z.string(),
  'oob.time.sec': z.optional(z.number().check(z.int(), z.gte(0))),
  'oob.time.usec': z.optional(z.number().check(z.int(), z.gte(0), z.lt(1_000_000))),
  'ip.protocol': byte,
  src_ip: ipv4,
  dest_ip: ipv4,
  src_port: z.optional(port),
  dest_port: z.optional(port),
  'icmp.type': z.optional(byte),
  'icmp.code': z.optional(byte),
});

export interface EgressLogLine {
  readonly timestamp: string;
  readonly source: typeof LOG_SOURCE;
  readonly message: string;
  readonly log_level: 1;
  readonly data: {
    readonly packet: {
      readonly direction: 'egress';
      readonly allowed: boolean;
      readonly src_ip: string;
      readonly src_port: number;
      readonly dst_ip: string;
      readonly dst_port: number;
      readonly protocol: string;
      readonly icmp_type: number;
      readonly icmp_code: number;
    };
    readonly source: {
      readonly container_id: string;
      readonly app_guid: string;
      readonly space_guid: string;
      readonly organization_guid: string;
    };
  };
}

export type EnrichResult =
  | { readonly kind: 'line'; readonly line: EgressLogLine }
  /** Not JSON, or not a packet record ulogd's stack prints. */
  | { readonly kind: 'unparseable' }
  /** A record of another NFLOG prefix: someone else's log rule in the same group. */
  | { readonly kind: 'other-prefix'; readonly prefix: string };

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP' };

function timestampOf(sec: number | undefined, usec: number | undefined, now: () => Date): string {
  if (sec === undefined) return now().toISOString();
  return new Date(sec * 1000 + Math.floor((usec ?? 0) / 1000)).toISOString();
}

/** One line of ulogd's JSON output → the enriched line, or why there is none. */
export function enrichRecord(text: string, identities: Identities, now: () => Date = () => new Date()): EnrichResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'unparseable' };
  }
  const parsed = z.safeParse(ulogdRecordSchema, value);
  if (!parsed.success) return { kind: 'unparseable' };
  const record = parsed.data;
  const prefix = record['oob.prefix'];
  const outcome = Object.hasOwn(PREFIX_MESSAGES, prefix) ? PREFIX_MESSAGES[prefix] : undefined;
  if (outcome === undefined) return { kind: 'other-prefix', prefix };
  const protocol = record['ip.protocol'];
  const icmp = protocol === 1;
  const identity = identities.get(record.src_ip);
  return {
    kind: 'line',
    line: {
      timestamp: timestampOf(record['oob.time.sec'], record['oob.time.usec'], now),
      source: LOG_SOURCE,
      message: `${LOG_SOURCE}.${outcome}`,
      log_level: 1,
      data: {
        packet: {
          direction: 'egress',
          allowed: outcome === 'egress-allowed',
          src_ip: record.src_ip,
          src_port: icmp ? 0 : (record.src_port ?? 0),
          dst_ip: record.dest_ip,
          dst_port: icmp ? 0 : (record.dest_port ?? 0),
          protocol: PROTOCOL_NAMES[protocol] ?? `${protocol}`,
          icmp_type: icmp ? (record['icmp.type'] ?? 0) : 0,
          icmp_code: icmp ? (record['icmp.code'] ?? 0) : 0,
        },
        source: {
          container_id: identity?.handle ?? '',
          app_guid: identity?.appGuid ?? '',
          space_guid: identity?.spaceGuid ?? '',
          organization_guid: identity?.orgGuid ?? '',
        },
      },
    },
  };
}

// ---- the containers file ---------------------------------------------------------------------------

const text = z.string().check(z.maxLength(256));
/** Lenient on purpose: an entry the agent would refuse still names its container in a log line. */
const storeEntrySchema = z.object({
  handle: text,
  ip: ipv4,
  metadata: z.optional(z.object({ app_id: z.optional(text), space_id: z.optional(text), org_id: z.optional(text) })),
});

/**
 * The identities in a container metadata store's text (`{"<handle>": {"handle", "ip", "metadata":
 * {app_id, space_id, org_id}}}`, agent/source/containers-schema.ts). Entries that do not decode are
 * counted in `skipped` and left out; text that is not a JSON object throws.
 */
export function parseIdentities(storeText: string): { identities: Map<string, ContainerIdentity>; skipped: number } {
  const value: unknown = JSON.parse(storeText);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('the containers file is not a JSON object keyed by container handle');
  }
  const identities = new Map<string, ContainerIdentity>();
  let skipped = 0;
  // Object.entries, not z.record: a `__proto__` handle stays an entry (see containers-schema.ts).
  for (const [, raw] of Object.entries(value)) {
    const entry = z.safeParse(storeEntrySchema, raw);
    if (!entry.success) {
      skipped += 1;
      continue;
    }
    const { handle, ip, metadata } = entry.data;
    identities.set(ip, {
      handle,
      appGuid: metadata?.app_id ?? '',
      spaceGuid: metadata?.space_id ?? '',
      orgGuid: metadata?.org_id ?? '',
    });
  }
  return { identities, skipped };
}
