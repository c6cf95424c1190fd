// The sync's side of host names, against a scripted kernel: the names document written before the
// host sets are created (with the refresh's own type, `-exist`), both before the iptables transaction;
// after a changed ruleset, unused host sets destroyed one by one, a matched set's scratch set left
// alone, a refused destroy reported (and logged by the CLI) rather than failing the sync; a dry run
// writes and creates nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { namesWrittenFor } from '../../agent/names/names-file.js';
import type { CommandRunner } from '../../agent/runner.js';
import { parsePolicies } from '../../agent/source/files.js';
import { sync } from '../../agent/sync.js';
import type { Container } from '../../core/plan/model.js';
import { hostSetName, hostTempSetName } from '../../core/plan/names.js';
import { policyList } from './fixtures.js';

const containers: Container[] = [{ ip: '10.255.1.2', appId: 'app-a', spaceId: 's1', lifecycle: 'running' }];
const WANTED = hostSetName('dest-db', ['db.example.test']);
const GONE = hostSetName('dest-gone', ['gone.example.test']);
const IN_USE = hostSetName('dest-in-use', ['used.example.test']);

const policies = parsePolicies(
  JSON.stringify(
    policyList([
      {
        id: 'p1',
        source: { type: 'app', id: 'app-a' },
        destination: {
          id: 'dest-db',
          name: 'db',
          ips: [],
          hosts: ['db.example.test'],
          ports: [{ start: 5432, end: 5432 }],
          protocol: 'tcp',
        },
      },
    ]),
  ),
);

/** An empty kernel holding the given host sets; records every call; refuses to destroy IN_USE. */
function scriptedKernel(hostSets: readonly string[], namesFile: string) {
  const calls: string[] = [];
  const documentAt: Record<string, string | undefined> = {};
  const runner: CommandRunner = async (command, args, input = '') => {
    const shown = command === 'ipset' && input !== '' ? `: ${input.trim().replaceAll('\n', ' / ')}` : '';
    const call = `${command} ${args.join(' ')}${shown}`;
    calls.push(call);
    try {
      documentAt[call] = readFileSync(namesFile, 'utf8');
    } catch {
      documentAt[call] = undefined;
    }
    if (command === 'iptables-save') return { code: 0, stdout: '*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n', stderr: '' };
    if (command === 'ipset' && args.join(' ') === 'list -t') {
      const headers = hostSets.map((name) => `Name: ${name}\nType: hash:ip\nNumber of entries: 0\n`);
      return { code: 0, stdout: headers.join('\n'), stderr: '' };
    }
    if (command === 'ipset' && args[0] === 'list') return { code: 0, stdout: `${hostSets.join('\n')}\n`, stderr: '' };
    if (command === 'ipset' && args[0] === 'restore' && input === `destroy ${IN_USE}\n`) {
      return {
        code: 1,
        stdout: '',
        stderr: `ipset v7.17: Set cannot be destroyed: it is in use by a kernel component\n`,
      };
    }
    return { code: 0, stdout: '', stderr: '' };
  };
  return { runner, calls, documentAt };
}

describe('sync and host sets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-host-sets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the host sets, then the rules, then writes the names document; then destroys only unused host sets', async () => {
    const namesFile = join(dir, 'state', 'host-names.json');
    // The wanted set is missing (a scratch set of it is there): it is created, the others listed once.
    const kernel = scriptedKernel(['operator-set', hostTempSetName(WANTED), GONE, IN_USE], namesFile);
    const result = await sync(policies, containers, { runner: kernel.runner, namesFile, record: 'input-1' });
    const create = `ipset restore: create ${WANTED} hash:ip family inet timeout 0 -exist`;
    expect(kernel.calls).toEqual([
      'iptables-save -t filter',
      'ipset save',
      'ipset list -n',
      create,
      'iptables-restore -w --noflush',
      `ipset restore: destroy ${GONE}`,
      `ipset restore: destroy ${IN_USE}`,
    ]);
    // The document comes once the rules using the set are in force (a failed apply leaves the old one),
    // with the input it was written for beside it.
    expect(kernel.documentAt[create]).toBeUndefined();
    expect(kernel.documentAt['iptables-restore -w --noflush']).toBeUndefined();
    expect(kernel.documentAt[`ipset restore: destroy ${GONE}`]).toBe(
      '{"destinations":[{"id":"dest-db","hosts":["db.example.test"]}]}\n',
    );
    expect(namesWrittenFor(namesFile)).toBe('input-1');
    expect(result.stats.sets).toBe(0);
    expect(result.hostSetProblems).toEqual([
      expect.stringContaining(
        `${IN_USE} not destroyed: ipset restore failed (exit 1): ipset v7.17: Set cannot be destroyed`,
      ),
    ]);
  });

  it('takes the host sets from the set headers it read, and creates none that is there (one made before timeouts would refuse)', async () => {
    const namesFile = join(dir, 'headers', 'host-names.json');
    const kernel = scriptedKernel(['operator-set', WANTED, GONE], namesFile);
    await sync(policies, containers, { runner: kernel.runner, namesFile, readBack: 'sizes' });
    expect(kernel.calls).toEqual([
      'iptables-save -t filter',
      'ipset list -t',
      'iptables-restore -w --noflush',
      `ipset restore: destroy ${GONE}`,
    ]);
  });

  it('a dry run writes no document and touches no set', async () => {
    const namesFile = join(dir, 'dry', 'host-names.json');
    const kernel = scriptedKernel([GONE], namesFile);
    const result = await sync(policies, containers, { runner: kernel.runner, namesFile, dryRun: true });
    expect(kernel.calls).toEqual(['iptables-save -t filter', 'ipset save']);
    expect(kernel.documentAt['ipset save']).toBeUndefined();
    expect(result.payload).toContain(`--match-set ${WANTED} dst`);
  });
});
