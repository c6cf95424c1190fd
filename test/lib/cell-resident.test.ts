// How long a cell's scripts wait for the resident agent before they sync themselves.
import { describe, expect, it } from 'vitest';
import { RESIDENT_POLL_SECONDS, residentSyncFunction, residentWaitSeconds } from '../../lib/cell-resident.js';
import { cellUnits } from '../../lib/cell-units.js';

describe('residentWaitSeconds', () => {
  it('waits at most a minute, and half the step so that its own sync has the other half (10 s at least)', () => {
    expect([3600, 300, 120, 60, 45, 30, 20].map(residentWaitSeconds)).toEqual([60, 60, 60, 30, 22, 15, 10]);
  });

  it('is the wait the containers-file service gives its sh function', () => {
    const polls = (seconds: number) => `-ge ${Math.ceil(seconds / RESIDENT_POLL_SECONDS)} ]`;
    expect(residentSyncFunction({ waitSeconds: 15 })).toContain(polls(15));
    const { service } = cellUnits({
      agentFile: '/opt/dynamic-egress/agent/current.mjs',
      stateDir: '/var/lib/dynamic-egress',
      tableName: 'Egress-Table_1.x',
      region: 'eu-west-1',
      containersPath: '/var/vcap/data/container-metadata/store.json',
      overlayCidr: '10.255.0.0/16',
      unknownSources: 'reject',
      denyLogRate: '10/minute',
      denyNetworks: '',
      nflogGroup: 7,
      lockWaitSeconds: 10,
      timeoutSeconds: 30,
    });
    expect(service).toContain(polls(15));
    expect(service).not.toContain(polls(60));
  });
});
