// Inclusive IPv4 ranges as CIDR blocks, for ipset members and `-d` matches.
import { ipv4ToNumber, numberToIpv4, parseCidr } from '../domain/ipv4.js';

/** An inclusive range of addresses as unsigned 32-bit numbers. */
export interface Span {
  readonly first: number;
  readonly last: number;
}

/**
 * Calls `visit` for each aligned block covering first..last exactly, in address order, fewest blocks
 * (at most 62). /0 becomes two /1s (ipset rejects /0).
 */
function eachBlock(first: number, last: number, visit: (base: number, prefix: number) => void): void {
  let low = first;
  while (low <= last) {
    let size = 1;
    let prefix = 32;
    // Grow the block while it stays aligned on `low` and inside the range; stop at /1.
    while (prefix > 1 && low % (size * 2) === 0 && low + size * 2 - 1 <= last) {
      size *= 2;
      prefix -= 1;
    }
    visit(low, prefix);
    low += size;
  }
}

/** How many blocks cover first..last exactly (spansToCidrs' count for one span), without making them. */
export function blockCount(first: number, last: number): number {
  let count = 0;
  eachBlock(first, last, () => {
    count += 1;
  });
  return count;
}

/**
 * The same addresses in the fewest spans: sorted by address, overlapping or touching spans joined.
 * One canonical form per set of addresses, however its ranges were spelled; its blocks are then the
 * fewest exact ones (ranges decomposed one by one would repeat the blocks where they overlap).
 */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.first - b.first);
  const merged: Span[] = [];
  let current: { first: number; last: number } | undefined;
  for (const span of sorted) {
    if (current !== undefined && span.first <= current.last + 1) {
      if (span.last > current.last) current.last = span.last;
      continue;
    }
    if (current !== undefined) merged.push(current);
    current = { first: span.first, last: span.last };
  }
  if (current !== undefined) merged.push(current);
  return merged;
}

/** The addresses of `spans` as the fewest CIDR blocks, merged first (mergeSpans), sorted by address. */
export function spansToCidrs(spans: readonly Span[]): string[] {
  const cidrs: string[] = [];
  for (const span of mergeSpans(spans)) {
    eachBlock(span.first, span.last, (base, prefix) => cidrs.push(`${numberToIpv4(base)}/${prefix}`));
  }
  return cidrs;
}

/** The CIDR blocks covering start..end exactly, as text. */
export function rangeToCidrs(start: string, end: string): string[] {
  return spansToCidrs([{ first: ipv4ToNumber(start), last: ipv4ToNumber(end) }]);
}

/** The single CIDR block equal to start..end, or undefined when the range is not one block. */
export function rangeAsCidr(start: string, end: string): string | undefined {
  const blocks = rangeToCidrs(start, end);
  return blocks.length === 1 ? blocks[0] : undefined;
}

/** The enclosing block of `prefix` bits for an address, e.g. (10.255.1.17, 28) → 10.255.1.16/28. */
export function enclosingCidr(ip: string, prefix: number): string {
  const size = 2 ** (32 - prefix);
  return `${numberToIpv4(Math.floor(ipv4ToNumber(ip) / size) * size)}/${prefix}`;
}

/** Whether `address` is inside the block `cidr`. */
export function inCidr(address: string, cidr: string): boolean {
  const { start, end } = parseCidr(cidr);
  const value = ipv4ToNumber(address);
  return value >= start && value <= end;
}

/** A CIDR block in canonical form (host bits cleared); throws RangeError when it is not one. */
export function normalizeCidr(value: string): string {
  const { start } = parseCidr(value);
  return `${numberToIpv4(start)}/${Number(value.split('/')[1])}`;
}
