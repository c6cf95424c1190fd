import { describe, expect, it } from 'vitest';
import { denyNetworksArgument } from '../../../agent/cli-args.js';
import { UsageError } from '../../../agent/errors.js';
import { formatDenyNetworks, parseDenyNetworks } from '../../../core/plan/deny-networks.js';

describe('--deny-networks', () => {
  it('defaults to none, fills missing keys, normalizes, deduplicates and sorts', () => {
    expect(denyNetworksArgument(undefined)).toEqual({ always: [], running: [], staging: [] });
    expect(
      denyNetworksArgument('{"always":["169.254.169.254/32","10.1.2.3/8","10.0.0.0/8"],"staging":["0.0.0.0/0"]}'),
    ).toEqual({ always: ['10.0.0.0/8', '169.254.169.254/32'], running: [], staging: ['0.0.0.0/0'] });
  });

  it('reads the compact form the stack writes into shell lines and units, the same lists as JSON', () => {
    const networks = parseDenyNetworks('{"always":["169.254.169.254/32","10.0.0.0/8"],"staging":["192.0.2.0/24"]}');
    const compact = formatDenyNetworks(networks);
    expect(compact).toBe('always=10.0.0.0/8,169.254.169.254/32+running=+staging=192.0.2.0/24');
    expect(compact).toMatch(/^[A-Za-z0-9.,/=+]+$/);
    expect(denyNetworksArgument(compact)).toEqual(networks);
    expect(denyNetworksArgument('staging=10.1.2.3/16')).toEqual({ always: [], running: [], staging: ['10.1.0.0/16'] });
  });

  it.each([
    ['', /malformed JSON/],
    ['always=10.0.0.0/8+always=', /always: given twice/],
    ['always=10.0.0.0/33', /always\[0\]: must be an IPv4 CIDR block/],
    ['always=10.0.0.0', /always\[0\]: must be an IPv4 CIDR block/],
    ['always=10.0.0.0/8;reboot', /malformed JSON/],
    ['tasks=10.0.0.0/8', /malformed JSON/],
    ['[]', /must be|expected/i],
    ['{"always":"10.0.0.0/8"}', /always/],
    ['{"always":["10.0.0.0"]}', /always\[0\]: must be an IPv4 CIDR block/],
    ['{"always":["10.0.0.0/33"]}', /always\[0\]: must be an IPv4 CIDR block/],
    ['{"always":["::1/128"]}', /always\[0\]: must be an IPv4 CIDR block/],
    ['{"always":[],"tasks":[]}', /tasks/],
    ['{"running":[1]}', /running\[0\]/],
  ])('refuses %j as a usage error naming the flag', (text, message) => {
    expect(() => denyNetworksArgument(text)).toThrow(UsageError);
    expect(() => denyNetworksArgument(text)).toThrow(/^--deny-networks: /);
    expect(() => denyNetworksArgument(text)).toThrow(message);
  });
});
