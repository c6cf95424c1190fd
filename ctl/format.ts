// How destinations read in a table: ranges as `a` or `a-b`, icmp as its type and code, host names
// as a list, http routes as `METHODS path [headers]`.
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

export const hostsText = (destination: Destination): string => (destination.hosts ?? []).join(',');

/** `GET|HEAD ^/status.* [x-api-key]; any /get`: each route's methods, path regex and header names. */
export function routesText(destination: Destination): string {
  return (destination.routes ?? [])
    .map((route) => {
      const headers = route.headers === undefined ? '' : ` [${Object.keys(route.headers).join(',')}]`;
      return `${route.methods?.join('|') ?? 'any'} ${route.path_regex ?? '/'}${headers}`;
    })
    .join('; ');
}

/**
 * Columns only some destinations use (HOSTS, ROUTES): in the table when one listed destination
 * has them, so that a list of classic destinations reads as it always did.
 */
export function optionalColumns<T>(
  items: readonly T[],
  columns: readonly { readonly header: string; readonly text: (item: T) => string }[],
): { headers: string[]; cells: (item: T) => string[] } {
  const used = columns.filter((column) => items.some((item) => column.text(item) !== ''));
  return { headers: used.map((column) => column.header), cells: (item) => used.map((column) => column.text(item)) };
}
