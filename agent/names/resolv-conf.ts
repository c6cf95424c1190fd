// The cell's resolver, as /etc/resolv.conf names it (inside `ip netns exec NS` that file is
// /etc/netns/NS/resolv.conf). A `nameserver` line must hold exactly one address (an error names the
// line, where glibc would skip it); every other line is ignored, as glibc ignores keywords it does not
// know (`lookup` from a BSD).
import { isIP } from 'node:net';
import { ValidationError } from '../../core/domain/errors.js';
import { quote } from '../../core/domain/validation.js';
import { readInputFile } from '../source/read-file.js';

export const RESOLV_CONF = '/etc/resolv.conf';
/** glibc uses the first three (MAXNS); so does the agent, so it asks the servers the containers ask. */
export const MAX_NAMESERVERS = 3;
/** resolv.conf is a few lines; a larger file is the wrong one. */
const MAX_RESOLV_CONF_BYTES = 64 * 1024;

/** The nameservers of a resolv.conf text, in order, at most MAX_NAMESERVERS; a ValidationError when malformed. */
export function parseResolvConf(text: string, label = RESOLV_CONF): string[] {
  const nameservers: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    // A comment starts with # or ; at the start of a line (resolv.conf(5)); glibc also cuts them after a value.
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [keyword = '', ...values] = line.split(/\s+/);
    if (keyword !== 'nameserver') continue;
    const where = `${label} line ${index + 1}`;
    const [address, ...rest] = values;
    // No zone id (fe80::1%eth0): the resolver is asked from the cell's own namespace, by address alone.
    if (address === undefined || rest.length > 0 || isIP(address) === 0 || address.includes('%')) {
      throw new ValidationError(`${where}: nameserver must be followed by one IPv4 or IPv6 address, got ${quote(raw)}`);
    }
    if (nameservers.length < MAX_NAMESERVERS) nameservers.push(address);
  }
  if (nameservers.length === 0) throw new ValidationError(`${label}: no nameserver line`);
  return nameservers;
}

/** The nameservers of the resolv.conf at `path` (a regular file of at most 64 KiB). */
export async function readResolvConf(path = RESOLV_CONF): Promise<string[]> {
  return parseResolvConf(await readInputFile('resolv.conf', path, MAX_RESOLV_CONF_BYTES), path);
}
