// Dotted-quad IPv4 only: no leading zeros (ambiguous octal in some tools), no CIDR, no hostnames.
const IPV4_PATTERN = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(value: string): boolean {
  return IPV4_PATTERN.test(value);
}

/** The address as an unsigned 32-bit integer, for range comparisons. */
export function ipv4ToNumber(value: string): number {
  if (!isIpv4(value)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(value)}`);
  return value.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function numberToIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`not a 32-bit address: ${value}`);
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
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
