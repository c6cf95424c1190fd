// The API's deployment settings as Lambda and local mode read them from the environment.
import { describe, expect, it } from 'vitest';
import { apiSettingsFrom, parseApiSettings } from '../../../lambdas/api/settings.js';

describe('parseApiSettings', () => {
  it('takes GUID sources by default, an empty value included', () => {
    expect(parseApiSettings({})).toEqual({ ok: true, settings: { sourceIds: 'guid' } });
    expect(parseApiSettings({ EGRESS_SOURCE_IDS: '' })).toEqual({ ok: true, settings: { sourceIds: 'guid' } });
  });

  it('takes identifier for non-CF platforms', () => {
    expect(apiSettingsFrom({ EGRESS_SOURCE_IDS: 'identifier' })).toEqual({ sourceIds: 'identifier' });
  });

  it.each(['GUID', 'any', ' guid'])('fails on %j, showing it', (value) => {
    const error = `EGRESS_SOURCE_IDS must be guid or identifier, got ${JSON.stringify(value)}`;
    expect(parseApiSettings({ EGRESS_SOURCE_IDS: value })).toEqual({ ok: false, error });
    expect(() => apiSettingsFrom({ EGRESS_SOURCE_IDS: value })).toThrow(error);
  });
});
