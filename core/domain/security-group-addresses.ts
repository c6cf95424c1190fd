// The `destination` of a CF security group rule: IPv4 addresses, CIDRs and ranges `a-b`, comma
// separated, as Cloud Controller accepts them (app/messages/validators/security_group_rule_validator.rb
// and lib/cloud_controller/rule_validator.rb, which parse with Ruby's IPAddr). One parser serves both
// validation (its problems, in CF's words) and the cells (its ranges), so the two cannot disagree.
import { ipv4ToNumber, isIpv4, numberToIpv4 } from './ipv4.js';
import type { IpRange } from './schemas.js';
import { quote } from './validation.js';

/** CF's limit (RulesValidator::MAX_DESTINATIONS_PER_RULE); 6,000 itself is allowed. */
export const MAX_DESTINATIONS_PER_RULE = 6000;

// CF's detail texts, as Cloud Controller words them with comma-delimited destinations enabled.
export const DESTINATION_MESSAGES = {
  missing:
    'nil destination; destination must be a comma-delimited list of valid CIDRs, IP addresses, or IP address ranges',
  notString: 'destination must be a string',
  whitespace: 'destination must not contain whitespace',
  tooMany: `maximum destinations per rule exceeded - must be under ${MAX_DESTINATIONS_PER_RULE}`,
  empty: 'empty destination specified in comma-delimited list',
  invalid: 'destination must contain valid CIDR(s), IP address(es), or IP address range(s)',
  leadingZeros: 'destination octets cannot contain leading zeros',
  invalidRange: 'destination IP address range is invalid',
  reversedRange:
    'beginning of IP address range is numerically greater than the end of its range (range endpoints are inverted)',
  ipv6: 'IPv6 is not supported yet',
} as const;

type Entry = { readonly start: number; readonly end: number } | { readonly problem: string };

/** A prefix length as IPAddr takes it: no leading zero ("08" is refused), 0-32. */
const PREFIX_LENGTH = /^(0|[1-9]\d?)$/;
/** An octet with a leading zero, found as CF finds it: in the dotted part, not in a `/prefix`. */
const LEADING_ZERO_OCTET = /(^|\.)0[^./]/;
const HEXTET = /^[0-9a-f]{1,4}$/i;

/** An IPv6 address (RFC 4291 text, with `::` and a trailing dotted quad), to name it in the error. */
function isIpv6(address: string): boolean {
  const lastColon = address.lastIndexOf(':');
  if (lastColon < 0) return false;
  const tail = address.slice(lastColon + 1);
  // A trailing dotted quad (::ffff:10.0.0.1) stands for two hextets.
  const text = tail.includes('.') ? (isIpv4(tail) ? `${address.slice(0, lastColon + 1)}0:0` : '') : address;
  const halves = text.split('::');
  if (text === '' || halves.length > 2) return false;
  const hextets = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  if (!hextets.every((hextet) => HEXTET.test(hextet))) return false;
  return halves.length === 2 ? hextets.length <= 7 : hextets.length === 8;
}

/**
 * One entry of the list. A CIDR with host bits set (`10.0.0.5/24`) is accepted and means its
 * network (10.0.0.0/24), as IPAddr masks it in CF and as the cells' CIDR parsers read it.
 * Deliberately stricter than CF, because CF stores these but the cells cannot parse them: a range
 * with an empty end (`10.0.0.1-`, which Ruby's split reads as one address) and a netmask instead
 * of a prefix length (`10.0.0.0/255.255.255.0`, which IPAddr takes).
 */
function parseEntry(entry: string): Entry {
  if (entry === '') return { problem: DESTINATION_MESSAGES.empty };
  const ends = entry.split('-');
  if (ends.some((end) => isIpv6(end.replace(/\/\d*$/, '')))) return { problem: DESTINATION_MESSAGES.ipv6 };
  // CF checks this first and, for it, says nothing else.
  if (ends.some((end) => end.includes('.') && LEADING_ZERO_OCTET.test(end))) {
    return { problem: DESTINATION_MESSAGES.leadingZeros };
  }
  const [first, last, ...others] = ends;
  if (first === undefined || others.length > 0) return { problem: DESTINATION_MESSAGES.invalid };
  if (last !== undefined) {
    // A range's ends are plain addresses: no prefix.
    if (!isIpv4(first) || !isIpv4(last)) return { problem: DESTINATION_MESSAGES.invalidRange };
    const start = ipv4ToNumber(first);
    const end = ipv4ToNumber(last);
    return start <= end ? { start, end } : { problem: DESTINATION_MESSAGES.reversedRange };
  }
  const [address = '', prefix, ...rest] = first.split('/');
  if (!isIpv4(address) || rest.length > 0) return { problem: DESTINATION_MESSAGES.invalid };
  if (prefix === undefined) return { start: ipv4ToNumber(address), end: ipv4ToNumber(address) };
  const bits = Number(prefix);
  if (!PREFIX_LENGTH.test(prefix) || bits > 32) return { problem: DESTINATION_MESSAGES.invalid };
  const size = 2 ** (32 - bits);
  const start = Math.floor(ipv4ToNumber(address) / size) * size;
  return { start, end: start + size - 1 };
}

/** The entries of a list, one at a time: a request may hold millions, and an array of them would not fit. */
function* entriesOf(destination: string): Generator<string, void, undefined> {
  let from = 0;
  for (let comma = destination.indexOf(','); comma >= 0; comma = destination.indexOf(',', from)) {
    yield destination.slice(from, comma);
    from = comma + 1;
  }
  yield destination.slice(from);
}

/**
 * What is wrong with a rule's `destination`, in CF's words, each with the entry at fault; nothing
 * when it is valid. Unlike CF, one problem per entry (CF adds its generic text beside some), and
 * none for entries past the limit. Yielded one by one, so a caller keeping only the first few never
 * holds millions of them.
 */
export function* destinationProblems(destination: unknown): Generator<string, void, undefined> {
  // Problems of the whole value come alone, as in CF.
  if (destination === undefined || destination === null) {
    yield DESTINATION_MESSAGES.missing;
  } else if (typeof destination !== 'string') {
    yield DESTINATION_MESSAGES.notString;
  } else if (/\s/.test(destination)) {
    yield DESTINATION_MESSAGES.whitespace;
  } else if (destination === '') {
    yield `${DESTINATION_MESSAGES.invalid} (got "")`;
  } else {
    yield* entryProblems(destination);
  }
}

function* entryProblems(destination: string): Generator<string, void, undefined> {
  let count = 0;
  for (const _entry of entriesOf(destination)) count += 1;
  if (count > MAX_DESTINATIONS_PER_RULE) {
    yield `${DESTINATION_MESSAGES.tooMany} (got ${count.toLocaleString('en-US')})`;
  }
  // Entries past the limit are not examined: the rule is refused anyway, and the work stays bounded.
  let examined = 0;
  for (const entry of entriesOf(destination)) {
    if (examined === MAX_DESTINATIONS_PER_RULE) break;
    examined += 1;
    const parsed = parseEntry(entry);
    if ('problem' in parsed) yield `${parsed.problem} (got ${quote(entry)})`;
  }
}

/**
 * The addresses a validated `destination` allows: one inclusive range per entry, in the order
 * given, neither merged nor deduplicated (a single address is a range of one; a CIDR its network).
 * Throws a RangeError for a destination destinationProblems would refuse.
 */
export function destinationRanges(destination: string): IpRange[] {
  const problem = destinationProblems(destination).next();
  if (!problem.done) throw new RangeError(`not a valid destination: ${problem.value}`);
  return Array.from(entriesOf(destination), (entry) => {
    const parsed = parseEntry(entry);
    if ('problem' in parsed) throw new RangeError(`not a valid destination: ${quote(entry)}`);
    return { start: numberToIpv4(parsed.start), end: numberToIpv4(parsed.end) };
  });
}
