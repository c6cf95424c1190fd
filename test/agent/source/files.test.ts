import { execFileSync } from 'node:child_process';
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
      { ip: '10.255.1.3', appId: 'app-a', spaceId: 'space-1', orgId: 'org-1', lifecycle: 'running' },
      { ip: '10.255.1.20', appId: 'app-b', spaceId: 'space-1', orgId: 'org-1', lifecycle: 'running' },
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

  const entry = (handle: string, ip: string, appId = 'a') =>
    `${JSON.stringify(handle)}: {"handle": ${JSON.stringify(handle)}, "ip": "${ip}", "metadata": {"app_id": "${appId}", "space_id": "s"}}`;

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'keeps a container whose handle is %s: every entry in is one container out',
    (handle) => {
      const text = `{${entry(handle, '10.255.1.3')}, ${entry('other', '10.255.1.4', 'b')}}`;
      expect(parseContainers(text)).toEqual([
        { ip: '10.255.1.3', appId: 'a', spaceId: 's', lifecycle: 'running' },
        { ip: '10.255.1.4', appId: 'b', spaceId: 's', lifecycle: 'running' },
      ]);
      expect(({} as Record<string, unknown>).ip).toBeUndefined();
    },
  );

  it('validates a __proto__ entry like any other (it used to be skipped unvalidated)', () => {
    expect(() => parseContainers(`{${entry('__proto__', '10.255.1.300')}}`)).toThrow(
      /^containers: __proto__\.ip: must be an IPv4 address$/,
    );
  });

  it.each([
    [`{${entry('h-1', '10.255.1.3')}, ${entry('h-1', '10.255.1.4')}}`, /^containers: key "h-1" appears twice$/],
    [`{${entry('h-1', '10.255.1.3')}, ${entry('h\u002d1', '10.255.1.4')}}`, /^containers: key "h-1" appears twice$/],
    [`{${entry('__proto__', '10.255.1.3')}, ${entry('__proto__', '10.255.1.4')}}`, /key "__proto__" appears twice/],
    [
      '{"h": {"handle": "h", "ip": "10.255.1.3", "metadata": {"app_id": "a", "space_id": "s", "app_id": "b"}}}',
      /^containers: h\.metadata: key "app_id" appears twice$/,
    ],
    [
      '{"h": {"handle": "h", "ip": "8.8.8.8", "ip": "10.255.1.3", "metadata": {}}}',
      /^containers: h: key "ip" appears twice$/,
    ],
  ])('refuses a key repeated in one object: %s', (text, message) => {
    expect(() => parseContainers(text)).toThrow(ValidationError);
    expect(() => parseContainers(text)).toThrow(message);
  });

  it.each([
    ['8.8.8.8', 'is outside the overlay 10.255.0.0/16'],
    ['127.0.0.1', 'is outside the overlay 10.255.0.0/16'],
    ['224.0.0.1', 'is outside the overlay 10.255.0.0/16'],
    ['0.0.0.0', 'is outside the overlay 10.255.0.0/16'],
    ['10.254.255.255', 'is outside the overlay 10.255.0.0/16'],
    ['10.255.0.0', 'is the network address of the overlay 10.255.0.0/16'],
    ['10.255.255.255', 'is the broadcast address of the overlay 10.255.0.0/16'],
  ])('refuses a container at %s, naming the handle and the overlay', (ip, reason) => {
    const text = `{${entry('good', '10.255.1.3')}, ${entry('bad-handle', ip, 'b')}}`;
    expect(() => parseContainers(text)).toThrow(new ValidationError(`containers: "bad-handle".ip: ${ip} ${reason}`));
  });

  it('checks against the overlay it is given, and names every misplaced container', () => {
    const text = `{${entry('x', '10.0.0.1')}, ${entry('y', '192.168.7.255', 'b')}, ${entry('z', '10.255.0.0', 'c')}}`;
    expect(() => parseContainers(text, { overlayCidr: '10.0.0.0/8' })).toThrow(
      new ValidationError('containers: "y".ip: 192.168.7.255 is outside the overlay 10.0.0.0/8'),
    );
    expect(() => parseContainers(text, { overlayCidr: '192.168.7.9/24' })).toThrow(
      new ValidationError(
        'containers: "x".ip: 10.0.0.1 is outside the overlay 192.168.7.0/24; ' +
          '"y".ip: 192.168.7.255 is the broadcast address of the overlay 192.168.7.0/24; ' +
          '"z".ip: 10.255.0.0 is outside the overlay 192.168.7.0/24',
      ),
    );
    const inside = `{${entry('x', '10.0.0.1')}, ${entry('z', '10.255.0.0', 'c')}}`;
    expect(parseContainers(inside, { overlayCidr: '10.0.0.0/8' }).map((container) => container.ip)).toEqual([
      '10.0.0.1',
      '10.255.0.0',
    ]);
    // A /31 has no network or broadcast address: both are containers.
    const pair = `{${entry('x', '10.0.0.0')}, ${entry('y', '10.0.0.1', 'b')}}`;
    expect(parseContainers(pair, { overlayCidr: '10.0.0.0/31' })).toHaveLength(2);
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

  it('checks the store against the overlay it is given', async () => {
    const store = join(dir, 'overlay.json');
    writeFileSync(store, JSON.stringify(containerStore([{ ip: '192.168.0.5', appId: 'a', spaceId: 's' }])));
    await expect(readContainersFile(store)).rejects.toThrow(
      /^--containers: ".*"\.ip: 192\.168\.0\.5 is outside the overlay 10\.255\.0\.0\/16$/,
    );
    expect(await readContainersFile(store, { overlayCidr: '192.168.0.0/16' })).toHaveLength(1);
  });

  it('refuses a FIFO or a directory as either file, without waiting for a writer', async () => {
    const pipe = join(dir, 'pipe.json');
    execFileSync('mkfifo', [pipe]);
    await expect(readContainersFile(pipe)).rejects.toThrow(
      /^--containers: ".*pipe\.json" is a FIFO, not a regular file$/,
    );
    await expect(readPoliciesFile(pipe)).rejects.toThrow(/^--policies: ".*pipe\.json" is a FIFO, not a regular file$/);
    await expect(readPoliciesFile(dir)).rejects.toThrow(/is a directory, not a regular file/);
  });

  it('refuses a policies file with a key repeated in one object', async () => {
    const policies = join(dir, 'dup-policies.json');
    writeFileSync(policies, '{"total_egress_policies": 0, "egress_policies": [], "egress_policies": []}');
    await expect(readPoliciesFile(policies)).rejects.toThrow(/^--policies: key "egress_policies" appears twice$/);
  });
});
