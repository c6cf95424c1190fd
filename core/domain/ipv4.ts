// Dotted-quad IPv4 only: no leading zeros (ambiguous octal in some tools), no CIDR, no hostnames.
// Parsed by a character loop, not a regex and split: the agent reads hundreds of thousands of
// addresses per sync and these allocate nothing.

const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;

/** The address as an unsigned 32-bit integer, or -1 when `value` is not a dotted quad. */
export function parseIpv4(value: string): number {
  if (value.length < 7 || value.length > 15) return -1;
  let result = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let index = 0; index < value.length; index += 1) {
    const char = value.charCodeAt(index);
    if (char === DOT) {
      if (digits === 0 || dots === 3) return -1;
      result = result * 256 + octet;
      octet = 0;
      digits = 0;
      dots += 1;
    } else if (char >= ZERO && char <= NINE) {
      // A leading zero is allowed only as the whole octet ("0"), never before another digit.
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (char - ZERO);
      digits += 1;
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return result * 256 + octet;
}

export function isIpv4(value: string): boolean {
  return parseIpv4(value) >= 0;
}

/** The address as an unsigned 32-bit integer, for range comparisons. */
export function ipv4ToNumber(value: string): number {
  const number = parseIpv4(value);
  if (number < 0) throw new RangeError(`not an IPv4 address: ${JSON.stringify(value)}`);
  return number;
}

export function numberToIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`not a 32-bit address: ${value}`);
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** A CIDR block such as 10.255.0.0/16, parsed to its inclusive bounds. */
export function parseCidr(value: string): { start: number; end: number } {
  const [address, bits, ...rest] = value.split('/');
  const prefix = Number(bits);
  if (rest.length > 0 || address === undefined || !isIpv4(address) || !/^\d{1,2}$/.test(bits ?? '') || prefix > 32) {
    throw new RangeError(`not an IPv4 CIDR block: ${JSON.stringify(value)}`);
  }
  const size = 2 ** (32 - prefix);
  const start = Math.floor(ipv4ToNumber(address) / size) * size;
  return { start, end: start + size - 1 };
}
