// How long a cell's scripts wait for the resident agent before they sync themselves.
import { describe, expect, it } from 'vitest';
import { RESIDENT_POLL_SECONDS, residentSyncFunction, residentWaitSeconds } from '../../lib/cell-resident.js';

describe('residentWaitSeconds', () => {
  it('waits at most a minute, and half the step so that its own sync has the other half (10 s at least)', () => {
    expect([3600, 300, 120, 60, 45, 30, 20].map(residentWaitSeconds)).toEqual([60, 60, 60, 30, 22, 15, 10]);
  });

  it('is what the sh function waits', () => {
    expect(residentSyncFunction({ waitSeconds: 15 })).toContain(`-ge ${Math.ceil(15 / RESIDENT_POLL_SECONDS)} ]`);
  });
});
