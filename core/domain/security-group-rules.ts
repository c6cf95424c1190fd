// CF V3 security group rules, checked as Cloud Controller checks them: its message validator
// (app/messages/validators/security_group_rule_validator.rb) and, on save, its model's per-protocol
// validators (app/models/runtime/security_group.rb with lib/cloud_controller/*rule_validator.rb).
// The model's check is the stricter one where they differ: a key that does not belong to the
// protocol (ports on icmp or all, type or code on tcp, udp or all) is refused even when null, and
// `log` and `description`, when present, must be a boolean and a string (null included).
// Problems use CF's detail texts, each under the field at fault (`rules[2].ports: ...`).
import { ValidationError } from './errors.js';
import type { PortRange } from './schemas.js';
import { SECURITY_GROUP_PROTOCOLS, type SecurityGroupProtocol, type SecurityGroupRule } from './security-group.js';
import { destinationProblems } from './security-group-addresses.js';
import { listProblems, MAX_LISTED_PROBLEMS, quote } from './validation.js';

export { destinationRanges, MAX_DESTINATIONS_PER_RULE } from './security-group-addresses.js';

const RULE_KEYS = ['protocol', 'destination', 'ports', 'type', 'code', 'log', 'description'];
const ICMP_MIN = -1;
const ICMP_MAX = 255;

export const RULE_MESSAGES = {
  notArray: 'must be an array',
  notObject: 'must be an object',
  protocol: "protocol must be 'tcp', 'udp', 'icmp' or 'all'",
  icmpv6: 'icmpv6 cannot be used: IPv6 is not supported yet',
  portsRequired: 'ports are required for protocols of type TCP and UDP',
  // "range or ports" is CF's wording.
  portsInvalid:
    'ports must be a valid single port, comma separated list of ports, or range or ports, formatted as a string',
  log: 'log must be a boolean',
  description: 'description must be a string',
} as const;

// CF's port grammar (lib/cloud_controller/transport_rule_validator.rb), with Ruby's \s and \d, which
// are ASCII only. Spaces around numbers and leading zeros are allowed ("0080"): CF reads each number
// with to_i before it reaches a cell. (CF's first check, for characters outside these, adds nothing.)
const PORT_RANGE = /^[ \t\n\v\f\r]*([0-9]+)[ \t\n\v\f\r]*-[ \t\n\v\f\r]*([0-9]+)[ \t\n\v\f\r]*$/;
const LISTED_PORT = /^[ \t\n\v\f\r]*([0-9]+)[ \t\n\v\f\r]*$/;

const isPort = (port: number): boolean => port >= 1 && port <= 65535;

/**
 * `443`, `80,443` or `8000-9000` (start < end), every port 1-65535; a list of ranges is refused.
 * Empty items are refused except at the end (`80,` is `80`: Ruby's split drops trailing empties).
 */
function parsePorts(ports: string): PortRange[] | undefined {
  const range = PORT_RANGE.exec(ports);
  if (range) {
    const start = Number(range[1]);
    const end = Number(range[2]);
    return start < end && isPort(start) && isPort(end) ? [{ start, end }] : undefined;
  }
  const items = ports.split(',');
  while (items.at(-1) === '') items.pop();
  const listed = items.map((item) => Number(LISTED_PORT.exec(item)?.[1] ?? Number.NaN));
  if (listed.length === 0 || !listed.every(isPort)) return undefined;
  return listed.map((port) => ({ start: port, end: port }));
}

/**
 * The ports a validated `ports` string allows: one range per listed port (start = end), in the
 * order given and not deduplicated, or the one range. Throws a RangeError for ports CF refuses.
 */
export function portRanges(ports: string): PortRange[] {
  const ranges = parsePorts(ports);
  if (ranges === undefined) throw new RangeError(`not valid ports: ${quote(ports)}`);
  return ranges;
}

type JsonObject = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isProtocol = (value: unknown): value is SecurityGroupProtocol =>
  SECURITY_GROUP_PROTOCOLS.some((protocol) => protocol === value);

const isIcmpValue = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= ICMP_MIN && value <= ICMP_MAX;

/** `["a", "b", …and 3 more]`, as CF prints the list (Ruby's Array#inspect), capped. */
function keyList(keys: readonly string[]): string {
  const shown = keys.slice(0, MAX_LISTED_PROBLEMS).map(quote);
  const more = keys.length - shown.length;
  return `[${[...shown, ...(more > 0 ? [`…and ${more.toLocaleString('en-US')} more`] : [])].join(', ')}]`;
}

/**
 * Every problem counted, only the listed ones kept: a body of a few megabytes can hold millions of
 * bad destinations, and a string for each would exhaust a Lambda's memory.
 */
class Problems {
  private readonly listed: string[] = [];
  count = 0;
  add(problem: string): void {
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem);
    this.count += 1;
  }
  /** As listProblems words it: the first few, then `…and 19,995 more`. */
  message(): string {
    const more = this.count - this.listed.length;
    return [listProblems(this.listed), ...(more > 0 ? [`…and ${more.toLocaleString('en-US')} more`] : [])].join('; ');
  }
}

/** The rule as it will be stored, or undefined after adding its problems to `problems`. */
function decodeRule(rule: unknown, at: string, problems: Problems): SecurityGroupRule | undefined {
  if (!isObject(rule)) {
    problems.add(`${at}: ${RULE_MESSAGES.notObject}`);
    return undefined;
  }
  const found = problems.count;
  const problem = (field: string, text: string): void => {
    problems.add(`${at}.${field}: ${text}`);
  };
  // Own keys only: JSON.parse makes plain objects, but a prototype's properties are not input.
  const has = (key: string): boolean => Object.hasOwn(rule, key);
  const read = (key: string): unknown => (has(key) ? rule[key] : undefined);

  const unknown = Object.keys(rule).filter((key) => !RULE_KEYS.includes(key));
  if (unknown.length > 0) problems.add(`${at}: unknown field(s): ${keyList(unknown)}`);

  const protocol = read('protocol');
  if (protocol === 'icmpv6') problem('protocol', RULE_MESSAGES.icmpv6);
  else if (!isProtocol(protocol)) problem('protocol', RULE_MESSAGES.protocol);

  const destination = read('destination');
  for (const text of destinationProblems(destination)) problem('destination', text);

  const ports = read('ports');
  if (protocol === 'tcp' || protocol === 'udp') {
    if (ports === undefined || ports === null) problem('ports', RULE_MESSAGES.portsRequired);
    else if (typeof ports !== 'string') problem('ports', RULE_MESSAGES.portsInvalid);
    else if (parsePorts(ports) === undefined) problem('ports', `${RULE_MESSAGES.portsInvalid} (got ${quote(ports)})`);
  } else if ((protocol === 'icmp' || protocol === 'all') && has('ports')) {
    problem('ports', `ports are not allowed for protocols of type ${protocol}`);
  }

  for (const field of ['type', 'code']) {
    const value = read(field);
    if (protocol === 'icmp') {
      if (value === undefined || value === null) problem(field, `${field} is required for protocols of type ICMP`);
      else if (!isIcmpValue(value)) problem(field, `${field} must be an integer between -1 and 255 (inclusive)`);
    } else if (isProtocol(protocol) && has(field)) {
      problem(field, `${field} is not allowed for protocols of type ${protocol}`);
    }
  }

  const log = read('log');
  if (has('log') && typeof log !== 'boolean') problem('log', RULE_MESSAGES.log);
  const description = read('description');
  if (has('description') && typeof description !== 'string') problem('description', RULE_MESSAGES.description);

  if (problems.count > found || !isProtocol(protocol) || typeof destination !== 'string') return undefined;
  const type = read('type');
  const code = read('code');
  // CF's key order; absent optional keys stay absent.
  return {
    protocol,
    destination,
    ...(typeof ports === 'string' ? { ports } : {}),
    ...(isIcmpValue(type) ? { type } : {}),
    ...(isIcmpValue(code) ? { code } : {}),
    ...(typeof log === 'boolean' ? { log } : {}),
    ...(typeof description === 'string' ? { description } : {}),
  };
}

/**
 * The `rules` of a V3 security group body, validated as CF validates them and returned as CF
 * stores them (destination and ports strings as given). Throws a ValidationError listing every
 * problem (the first few, then a count), each naming the rule and field: `rules[2].ports: ...`.
 */
export function decodeSecurityGroupRules(value: unknown): SecurityGroupRule[] {
  if (!Array.isArray(value)) throw new ValidationError(`rules: ${RULE_MESSAGES.notArray}`);
  const items: readonly unknown[] = value;
  const problems = new Problems();
  const rules: SecurityGroupRule[] = [];
  items.forEach((item, index) => {
    const rule = decodeRule(item, `rules[${index}]`, problems);
    if (rule) rules.push(rule);
  });
  if (problems.count > 0) throw new ValidationError(problems.message());
  return rules;
}
