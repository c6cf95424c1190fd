import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseContainers, parsePolicies, readContainersFile, readPoliciesFile } from '../../../agent/source/files.js';
import { ValidationError } from '../../../core/domain/errors.js';
import { app, containerStore, policyList, tcp } from '../fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('container store', () => {
  it('reads a CF store.json, keeping ip, app and space, sorted by ip', () => {
    const store = containerStore([
      { ip: '10.255.1.20', appId: 'app-b', spaceId: 'space-1' },
      { ip: '10.255.1.3', appId: 'app-a', spaceId: 'space-1' },
    ]);
    expect(parseContainers(JSON.stringify(store))).toEqual([
      { ip: '10.255.1.3', appId: 'app-a', spaceId: 'space-1' },
      { ip: '10.255.1.20', appId: 'app-b', spaceId: 'space-1' },
    ]);
    expect(parseContainers('{}')).toEqual([]);
  });

  it.each([
    ['{', /containers: malformed JSON/],
    ['[]', /^containers: .*must be a JSON object keyed by container handle/],
    [
      '{"h": {"handle": "h", "ip": "10.255.1.300", "metadata": {"app_id": "a", "space_id": "s"}}}',
      /h\.ip: must be an IPv4 address/,
    ],
    ['{"h": {"handle": "h", "ip": "10.255.1.3"}}', /h\.metadata: is required/],
    [
      '{"h": {"handle": "h", "ip": "10.255.1.3", "metadata": {"app_id": "a;rm", "space_id": "s"}}}',
      /h\.metadata\.app_id: must be 1-128/,
    ],
    ['{"h": {"handle": "h", "ip": "10.255.1.3", "metadata": {"app_id": "a"}}}', /h\.metadata\.space_id: is required/],
    [
      '{"a": {"handle": "a", "ip": "10.255.1.3", "metadata": {"app_id": "a", "space_id": "s"}}, "b": {"handle": "b", "ip": "10.255.1.3", "metadata": {"app_id": "b", "space_id": "s"}}}',
      /"b"\.ip: 10\.255\.1\.3 is also the ip of "a"/,
    ],
  ])('fails on %s', (text, message) => {
    expect(() => parseContainers(text)).toThrow(ValidationError);
    expect(() => parseContainers(text)).toThrow(message);
  });

  it('does not let a __proto__ handle change object prototypes', () => {
    const text = '{"__proto__": {"handle": "x", "ip": "10.255.1.3", "metadata": {"app_id": "a", "space_id": "s"}}}';
    const containers = parseContainers(text);
    expect(containers.length).toBeLessThanOrEqual(1);
    expect(({} as Record<string, unknown>).ip).toBeUndefined();
  });
});

describe('policies', () => {
  it('parses the API list body into canonical destinations', () => {
    const list = parsePolicies(JSON.stringify(policyList([tcp('p1', app('a'), ['1.1.1.1', '1.1.1.2'], [80, 81])])));
    expect(list.egress_policies[0]?.destination).toMatchObject({ protocol: 'tcp', ports: [{ start: 80, end: 81 }] });
  });

  it('names the bad field', () => {
    const body = policyList([tcp('p1', app('a'), ['1.1.1.1', '1.1.1.2'], [80, 81])]);
    (body.egress_policies[0]?.destination as { ports: unknown }).ports = [{ start: 0, end: 81 }];
    expect(() => parsePolicies(JSON.stringify(body))).toThrow(
      /egress_policies\[0\]\.destination\.ports\[0\]\.start: must be between 1 and 65535/,
    );
  });
});

describe('files', () => {
  it('reads files and labels errors with the flag', async () => {
    const policies = join(dir, 'p.json');
    const store = join(dir, 's.json');
    writeFileSync(policies, JSON.stringify(policyList([])));
    writeFileSync(store, '{"h": 1}');
    expect((await readPoliciesFile(policies)).egress_policies).toEqual([]);
    await expect(readContainersFile(store)).rejects.toThrow(/^--containers: h: must be an object/);
    await expect(readPoliciesFile(join(dir, 'missing.json'))).rejects.toThrow(/--policies: cannot read .*ENOENT/);
  });
});
