// GET /explain's settings as Lambda and local mode read them from the environment.
import { describe, expect, it } from 'vitest';
import { DEFAULT_OVERLAY_CIDR, NO_DENY_NETWORKS } from '../../../core/plan/network-settings.js';
import { explainSettingsFrom } from '../../../lambdas/api/explain-settings.js';

describe('explainSettingsFrom', () => {
  it('takes no deny networks and the default overlay when unset or empty', () => {
    const defaults = { denyNetworks: NO_DENY_NETWORKS, overlayCidr: DEFAULT_OVERLAY_CIDR };
    expect(explainSettingsFrom({})).toEqual(defaults);
    expect(explainSettingsFrom({ EGRESS_DENY_NETWORKS: '', EGRESS_OVERLAY_CIDR: '' })).toEqual(defaults);
  });

  it('reads the deny networks and the overlay the cells get', () => {
    expect(
      explainSettingsFrom({
        EGRESS_DENY_NETWORKS: '{"always":["169.254.169.254/32"],"staging":["10.0.0.0/8"]}',
        EGRESS_OVERLAY_CIDR: '10.250.0.0/16',
      }),
    ).toEqual({
      denyNetworks: { always: ['169.254.169.254/32'], running: [], staging: ['10.0.0.0/8'] },
      overlayCidr: '10.250.0.0/16',
    });
  });

  it('fails on values it cannot read, naming the variable', () => {
    expect(() => explainSettingsFrom({ EGRESS_DENY_NETWORKS: '{"sometimes":[]}' })).toThrow(/^EGRESS_DENY_NETWORKS: /);
    expect(() => explainSettingsFrom({ EGRESS_OVERLAY_CIDR: '10.250.0.0/33' })).toThrow(
      'EGRESS_OVERLAY_CIDR must be an IPv4 CIDR block such as 10.255.0.0/16, got "10.250.0.0/33"',
    );
  });
});
