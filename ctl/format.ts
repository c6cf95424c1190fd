// How destinations read in a table: ranges as `a` or `a-b`, icmp as its type and code.
import type { Destination } from './answers.js';

const rangeText = (range: { start: string | number; end: string | number }): string =>
  range.start === range.end ? String(range.start) : `${range.start}-${range.end}`;

export const ipsText = (destination: Destination): string => destination.ips.map(rangeText).join(',');

export function portsText(destination: Destination): string {
  if (destination.protocol === 'icmp') {
    const type = destination.icmp_type ?? -1;
    const code = destination.icmp_code ?? -1;
    return type === -1 ? 'any type' : `type ${type}${code === -1 ? '' : ` code ${code}`}`;
  }
  return (destination.ports ?? []).map(rangeText).join(',') || 'any';
}
