// What a DNS answer may put into an allow set.
import { describe, expect, it } from 'vitest';
import { refusedAddress } from '../../../agent/names/allowed-address.js';

describe('refusedAddress', () => {
  it.each([
    '198.51.100.10',
    '8.8.8.8',
    '10.0.1.5',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '1.0.0.0',
    '223.255.255.255',
  ])('lets %s in (public and private unicast: a database in the VPC has a private address)', (address) => {
    expect(refusedAddress(address)).toBeUndefined();
  });

  it.each([
    ['0.0.0.0', '"this network" (0.0.0.0/8)'],
    ['0.1.2.3', '"this network" (0.0.0.0/8)'],
    ['127.0.0.1', 'loopback (127.0.0.0/8)'],
    ['127.255.255.254', 'loopback (127.0.0.0/8)'],
    ['169.254.169.254', 'link-local (169.254.0.0/16, the instance metadata service among them)'],
    ['224.0.0.1', 'multicast (224.0.0.0/4)'],
    ['239.255.255.250', 'multicast (224.0.0.0/4)'],
    ['240.0.0.1', 'reserved or broadcast (240.0.0.0/4, 255.255.255.255 among them)'],
    ['255.255.255.255', 'reserved or broadcast (240.0.0.0/4, 255.255.255.255 among them)'],
    ['1.2.3', 'not a dotted-quad IPv4 address'],
    ['::1', 'not a dotted-quad IPv4 address'],
  ])('refuses %s: %s', (address, reason) => {
    expect(refusedAddress(address)).toBe(reason);
  });

  it("refuses the caller's networks (the overlay, the operator's deny networks)", () => {
    const never = ['10.255.0.0/16', '203.0.113.0/24'];
    expect(refusedAddress('10.255.3.4', never)).toBe('inside 10.255.0.0/16, which no answer may open');
    expect(refusedAddress('203.0.113.9', never)).toBe('inside 203.0.113.0/24, which no answer may open');
    expect(refusedAddress('10.254.255.255', never)).toBeUndefined();
  });
});
