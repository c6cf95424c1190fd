// The cell's own addresses, which the proxy refuses as a destination (own-addresses.ts).
import { describe, expect, it } from 'vitest';
import { parseOwnAddresses, readOwnAddresses } from '../../../agent/proxy/own-addresses.js';

const IP_OUTPUT = [
  '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
  '1: lo    inet 203.0.113.77/32 scope global lo\\       valid_lft forever preferred_lft forever',
  '2: ext0    inet 192.0.2.1/30 scope global ext0\\       valid_lft forever preferred_lft forever',
  '3: ext1    inet 192.0.2.1/30 scope global ext1\\       valid_lft forever preferred_lft forever',
  '',
].join('\n');

describe('own addresses', () => {
  it('takes every IPv4 address `ip -4 -o addr show` lists, once, as a /32', () => {
    expect(parseOwnAddresses(IP_OUTPUT)).toEqual(['127.0.0.1/32', '192.0.2.1/32', '203.0.113.77/32']);
    expect(parseOwnAddresses('2: eth0    inet 999.1.1.1/24 scope global eth0')).toEqual([]);
  });

  it('fails the proxy step when they cannot be read (which then removes its redirects: closed)', async () => {
    await expect(
      readOwnAddresses(async () => ({ code: 1, stdout: '', stderr: 'Cannot open netlink socket' })),
    ).rejects.toThrow("cannot read the cell's addresses: ip exited with 1: Cannot open netlink socket");
  });
});
