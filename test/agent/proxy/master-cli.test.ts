// `show proc` as HAProxy 2.6 prints it (copied from a real master), before and after a reload.
import { describe, expect, it } from 'vitest';
import { parseShowProc } from '../../../agent/proxy/master-cli.js';

const AFTER_RELOAD = `#<PID>          <type>          <reloads>       <uptime>        <version>      
11937           master          1 [failed: 0]   0d00h00m06s     2.6.12-1+deb12u4
# workers
12045           worker          0               0d00h00m00s     2.6.12-1+deb12u4
# old workers
11938           worker          1               0d00h00m06s     2.6.12-1+deb12u4
# programs

`;

describe('parseShowProc', () => {
  it('reads the master, its reloads, current and old workers', () => {
    expect(parseShowProc(AFTER_RELOAD)).toEqual({
      pid: 11937,
      reloads: 1,
      failedReloads: 0,
      workers: [12045],
      oldWorkers: [11938],
    });
  });

  it('reads failed reloads, and nothing from an answer without a master', () => {
    const failed = AFTER_RELOAD.replace('1 [failed: 0]', '3 [failed: 2]');
    expect(parseShowProc(failed)).toMatchObject({ reloads: 3, failedReloads: 2 });
    expect(parseShowProc('Unknown command.\n')).toBeUndefined();
    expect(parseShowProc('')).toBeUndefined();
  });
});
