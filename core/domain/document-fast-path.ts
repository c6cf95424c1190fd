// A fast path for the documents the agent reads on every sync (the v1 policy list, a snapshot's
// destinations). zod spends 6-9 µs per policy (25,000 policies: 150-230 ms, a fifth of a full
// sync); these loops spend under 1 µs. They accept only documents that are well formed
// in the plain way the API writes them, and answer `undefined` at the first doubt: the caller then
// runs the zod schema, which stays the one definition of the rules and of every error message.
// test/core/domain/document-fast-path.test.ts checks on generated and mutated documents that
// whatever this accepts, zod accepts with an identical result.
import { hostNameProblem, isWildcardHost } from './host-names.js';
import { parseIpv4 } from './ipv4.js';
import {
  APP_LIFECYCLES,
  CONTROL_CHARACTERS,
  ICMP_ANY,
  isIdentifier,
  MAX_IP_RANGES,
  MAX_PORT_RANGES,
  PACKET_PROTOCOLS,
  SOURCE_TYPES,
} from './model-primitives.js';
import { LIFECYCLES } from './security-group.js';
import {
  BINDING_SCOPES,
  GROUP_RULE_PROTOCOLS,
  type GroupBinding,
  type GroupRuleDocument,
  MAX_GROUP_RULE_HOSTS,
  MAX_GROUP_RULE_RANGES,
  NAME_RULE_PROTOCOLS,
  type SecurityGroupsSection,
} from './snapshot-groups.js';
import type { Destination, EgressPolicy, EgressPolicyList, IpRange, PolicySource, PortRange } from './types.js';

type Fields = Record<string, unknown>;

/**
 * Objects as JSON.parse makes them; anything else (arrays, class instances, null) takes zod's path.
 * None of the schemas' keys is inherited from Object.prototype, so reading `object.key` reads what
 * zod reads.
 */
export function isPlain(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** A plain object whose keys are exactly `first` and `second` (what a strict two-key schema takes). */
function hasExactly(value: unknown, first: string, second: string): value is Fields {
  if (!isPlain(value)) return false;
  let keys = 0;
  for (const key in value) {
    if (key !== first && key !== second) return false;
    keys += 1;
  }
  return keys === 2;
}

/** The range schemas are strict: `start` and `end`, nothing else. */
const isRangeObject = (value: unknown): value is Fields => hasExactly(value, 'start', 'end');

export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** model-primitives' isIdentifier for a value of any type. */
export function isIdentifierString(value: unknown): value is string {
  return typeof value === 'string' && isIdentifier(value);
}

/** Every index an integer in [0, length): what points inside an array of `length` items. */
export function areIndexesBelow(indexes: readonly unknown[], length: number): indexes is number[] {
  for (const index of indexes) if (!isIntegerIn(index, 0, length - 1)) return false;
  return true;
}

/**
 * The ranges are kept as they came (no copy): a strict range object with valid bounds is exactly
 * what zod would build from it.
 */
function areIpRanges(value: unknown, max = MAX_IP_RANGES): value is IpRange[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > max) return false;
  for (const range of value) {
    if (!isRangeObject(range) || typeof range.start !== 'string' || typeof range.end !== 'string') return false;
    const start = parseIpv4(range.start);
    if (start < 0 || parseIpv4(range.end) < start) return false;
  }
  return true;
}

function arePortRanges(value: unknown, max = MAX_PORT_RANGES): value is PortRange[] {
  if (!Array.isArray(value) || value.length > max) return false;
  for (const range of value) {
    if (!isRangeObject(range) || !isIntegerIn(range.start, 1, 65535) || !isIntegerIn(range.end, 1, 65535)) return false;
    if (range.start > range.end) return false;
  }
  return true;
}

/** A stored name: trimmed already (zod would trim it), 1-255 characters, no control characters. */
function isStoredName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= 255 &&
    value.trim() === value &&
    !CONTROL_CHARACTERS.test(value)
  );
}

/** Descriptions may hold newlines and tabs, no other control character (schemas.ts's rule). */
function isDescription(value: unknown): value is string | undefined {
  if (value === undefined) return true;
  if (typeof value !== 'string' || value.length > 1024) return false;
  return !CONTROL_CHARACTERS.test(value) || !CONTROL_CHARACTERS.test(value.replace(/[\n\t]/g, ' '));
}

export function oneOf<T extends string>(choices: readonly T[], value: unknown): T | undefined {
  for (const choice of choices) if (choice === value) return choice;
  return undefined;
}

/**
 * A destination document (destinationDocumentSchema) in the canonical form its transform gives:
 * tcp/udp with one port range and no icmp type or code; icmp with no
 * ports and an explicit type and code (a code only with a type). Destinations matched by name
 * (`hosts`, `routes`, http and https) are left to zod: the schema is their one definition, and
 * they are few.
 */
export function fastDestinationDocument(value: unknown): Destination | undefined {
  if (!isPlain(value)) return undefined;
  const { id, name, ips, ports, description, icmp_type: type, icmp_code: code } = value;
  if (value.hosts !== undefined || value.routes !== undefined) return undefined;
  const protocol = oneOf(PACKET_PROTOCOLS, value.protocol);
  if (!isIdentifierString(id) || !isStoredName(name) || !areIpRanges(ips) || !isDescription(description))
    return undefined;
  if (protocol === undefined) return undefined;
  let destination: Destination;
  if (protocol === 'icmp') {
    if (ports !== undefined && !(Array.isArray(ports) && ports.length === 0)) return undefined;
    const icmpType = type === undefined ? ICMP_ANY : type;
    const icmpCode = code === undefined ? ICMP_ANY : code;
    if (!isIntegerIn(icmpType, ICMP_ANY, 254) || !isIntegerIn(icmpCode, ICMP_ANY, 255)) return undefined;
    if (icmpType === ICMP_ANY && icmpCode !== ICMP_ANY) return undefined;
    destination = { id, name, ips, ports: [], protocol };
    if (description !== undefined) destination.description = description;
    destination.icmp_type = icmpType;
    destination.icmp_code = icmpCode;
    return destination;
  }
  if (!arePortRanges(ports) || ports.length === 0 || type !== undefined || code !== undefined) return undefined;
  destination = { id, name, ips, ports, protocol };
  if (description !== undefined) destination.description = description;
  return destination;
}

function policySource(value: unknown): PolicySource | undefined {
  if (!isPlain(value)) return undefined;
  const type = oneOf(SOURCE_TYPES, value.type);
  const { id } = value;
  if (type === 'default') return id === '' ? { type, id } : undefined;
  return type !== undefined && isIdentifierString(id) ? { type, id } : undefined;
}

function egressPolicy(value: unknown): EgressPolicy | undefined {
  if (!isPlain(value)) return undefined;
  const { id } = value;
  const lifecycle = value.app_lifecycle === undefined ? 'all' : oneOf(APP_LIFECYCLES, value.app_lifecycle);
  const source = policySource(value.source);
  const destination = fastDestinationDocument(value.destination);
  if (!isIdentifierString(id) || source === undefined || destination === undefined) return undefined;
  if (lifecycle === undefined) return undefined;
  return lifecycle === 'all' ? { id, source, destination } : { id, source, destination, app_lifecycle: lifecycle };
}

/** GET /egress_policies' body (egressPolicyListSchema), or `undefined` at the first doubt. */
export function fastEgressPolicyList(value: unknown): EgressPolicyList | undefined {
  if (!isPlain(value)) return undefined;
  const items = value.egress_policies;
  if (!Array.isArray(items) || value.total_egress_policies !== items.length) return undefined;
  const policies: EgressPolicy[] = [];
  for (const item of items) {
    const policy = egressPolicy(item);
    if (policy === undefined) return undefined;
    policies.push(policy);
  }
  return { total_egress_policies: items.length, egress_policies: policies };
}

/** The keys a security-group rule document may have (groupRuleDocumentSchema is strict). */
const GROUP_RULE_KEYS = new Set(['protocol', 'ips', 'ports', 'icmp_type', 'icmp_code', 'log']);

/** The keys a rule by host name may have here; one with `routes` goes to zod (route checks are its own). */
const NAME_RULE_KEYS = new Set(['protocol', 'ips', 'ports', 'hosts', 'destination']);

/** A rule by host name without routes, as it came (strict and valid: what zod would build from it). */
function isNameRule(value: Fields): boolean {
  for (const key in value) if (!NAME_RULE_KEYS.has(key) || value[key] === undefined) return false;
  const protocol = oneOf(NAME_RULE_PROTOCOLS, value.protocol);
  const { ips, hosts } = value;
  if (protocol === undefined || !Array.isArray(ips) || ips.length !== 0) return false;
  if (!arePortRanges(value.ports, 65535) || !isIdentifierString(value.destination)) return false;
  if (!Array.isArray(hosts) || hosts.length < 1 || hosts.length > MAX_GROUP_RULE_HOSTS) return false;
  // Names are resolved for tcp and udp: a wildcard only at layer 7.
  const wildcards = protocol === 'http' || protocol === 'https';
  for (const host of hosts) {
    if (typeof host !== 'string' || hostNameProblem(host) !== undefined) return false;
    if (!wildcards && isWildcardHost(host)) return false;
  }
  return true;
}

/** A rule document as it came (strict and valid: exactly what zod would build from it). */
function isGroupRule(value: unknown): value is GroupRuleDocument {
  if (!isPlain(value)) return false;
  if ('hosts' in value) return isNameRule(value);
  for (const key in value) if (!GROUP_RULE_KEYS.has(key) || value[key] === undefined) return false;
  const { icmp_type: type, icmp_code: code, log } = value;
  return (
    oneOf(GROUP_RULE_PROTOCOLS, value.protocol) !== undefined &&
    areIpRanges(value.ips, MAX_GROUP_RULE_RANGES) &&
    arePortRanges(value.ports, 65535) &&
    (type === undefined || isIntegerIn(type, ICMP_ANY, 255)) &&
    (code === undefined || isIntegerIn(code, ICMP_ANY, 255)) &&
    (log === undefined || typeof log === 'boolean')
  );
}

/** [scope, lifecycle, target, rule indexes]: global and only global without a target, indexes inside the rules. */
function isBinding(value: unknown, rules: number): value is GroupBinding {
  if (!Array.isArray(value) || value.length !== 4) return false;
  const [scope, lifecycle, target, indexes] = value;
  if (oneOf(BINDING_SCOPES, scope) === undefined || oneOf(LIFECYCLES, lifecycle) === undefined) return false;
  if (scope === 'global' ? target !== '' : !isIdentifierString(target)) return false;
  return Array.isArray(indexes) && indexes.length >= 1 && areIndexesBelow(indexes, rules);
}

/** A snapshot's `security_groups` (securityGroupsSectionSchema), as it came, or `undefined` at the first doubt. */
export function fastSecurityGroupsSection(value: unknown): SecurityGroupsSection | undefined {
  if (!hasExactly(value, 'rules', 'bindings')) return undefined;
  const { rules, bindings } = value;
  if (!Array.isArray(rules) || !Array.isArray(bindings)) return undefined;
  const checkedRules: GroupRuleDocument[] = [];
  for (const rule of rules) {
    if (!isGroupRule(rule)) return undefined;
    checkedRules.push(rule);
  }
  const checkedBindings: GroupBinding[] = [];
  for (const binding of bindings) {
    if (!isBinding(binding, rules.length)) return undefined;
    checkedBindings.push(binding);
  }
  return { rules: checkedRules, bindings: checkedBindings };
}
