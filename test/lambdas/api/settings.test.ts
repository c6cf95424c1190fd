// The API's deployment settings as Lambda and local mode read them from the environment.
import { describe, expect, it } from 'vitest';
import { DEFAULT_OVERLAY_CIDR, NO_DENY_NETWORKS } from '../../../core/plan/plan.js';
import { apiSettingsFrom, parseApiSettings } from '../../../lambdas/api/settings.js';

const DEFAULTS = { denyNetworks: NO_DENY_NETWORKS, overlayCidr: DEFAULT_OVERLAY_CIDR };

describe('parseApiSettings', () => {
  it('takes GUID sources, no deny networks and the default overlay by default, empty values included', () => {
    expect(parseApiSettings({})).toEqual({ ok: true, settings: { sourceIds: 'guid', ...DEFAULTS } });
    expect(parseApiSettings({ EGRESS_SOURCE_IDS: '', EGRESS_DENY_NETWORKS: '', EGRESS_OVERLAY_CIDR: '' })).toEqual({
      ok: true,
      settings: { sourceIds: 'guid', ...DEFAULTS },
    });
  });

  it('takes identifier for non-CF platforms', () => {
    expect(apiSettingsFrom({ EGRESS_SOURCE_IDS: 'identifier' })).toEqual({ sourceIds: 'identifier', ...DEFAULTS });
  });

  it.each(['GUID', 'any', ' guid'])('fails on %j, showing it', (value) => {
    const error = `EGRESS_SOURCE_IDS must be guid or identifier, got ${JSON.stringify(value)}`;
    expect(parseApiSettings({ EGRESS_SOURCE_IDS: value })).toEqual({ ok: false, error });
    expect(() => apiSettingsFrom({ EGRESS_SOURCE_IDS: value })).toThrow(error);
  });

  it('reads the deny networks and the overlay the cells get (explain plans with them)', () => {
    const settings = apiSettingsFrom({
      EGRESS_DENY_NETWORKS: '{"always":["169.254.169.254/32"],"staging":["10.0.0.0/8"]}',
      EGRESS_OVERLAY_CIDR: '10.250.0.0/16',
    });
    expect(settings).toEqual({
      sourceIds: 'guid',
      denyNetworks: { always: ['169.254.169.254/32'], running: [], staging: ['10.0.0.0/8'] },
      overlayCidr: '10.250.0.0/16',
    });
  });

  it('fails on deny networks or an overlay it cannot read, naming the variable', () => {
    expect(parseApiSettings({ EGRESS_DENY_NETWORKS: '{"sometimes":[]}' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^EGRESS_DENY_NETWORKS: /),
    });
    expect(() => apiSettingsFrom({ EGRESS_OVERLAY_CIDR: '10.250.0.0/33' })).toThrow(
      'EGRESS_OVERLAY_CIDR must be an IPv4 CIDR block such as 10.255.0.0/16, got "10.250.0.0/33"',
    );
  });
});
