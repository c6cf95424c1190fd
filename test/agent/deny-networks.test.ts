import { describe, expect, it } from 'vitest';
import { denyNetworksArgument } from '../../agent/cli-args.js';
import { UsageError } from '../../agent/errors.js';

describe('--deny-networks', () => {
  it('defaults to none, fills missing keys, normalizes, deduplicates and sorts', () => {
    expect(denyNetworksArgument(undefined)).toEqual({ always: [], running: [], staging: [] });
    expect(
      denyNetworksArgument('{"always":["169.254.169.254/32","10.1.2.3/8","10.0.0.0/8"],"staging":["0.0.0.0/0"]}'),
    ).toEqual({ always: ['10.0.0.0/8', '169.254.169.254/32'], running: [], staging: ['0.0.0.0/0'] });
  });

  it.each([
    ['', /malformed JSON/],
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
