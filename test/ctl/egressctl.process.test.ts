// egressctl as operators run it: the real binary (bin/egressctl.js, from a folder outside the
// project) against a real `npm start` (DynamoDB Local, the local issuer) that it finds by itself
// through local mode's state folder. One local mode for the whole file.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_TABLE_NAME } from '../../core/store/table-definition.js';
import { storesFor } from '../../core/store/table-stores.js';
import { LOCAL_CLIENT_CONFIG } from '../../local/dynamodb-local.js';
import { type LocalProcess, startLocalProcess } from '../helpers/local-process.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BINARY = join(PROJECT_ROOT, 'bin/egressctl.js');
const root = mkdtempSync(join(tmpdir(), 'egressctl-'));
const stateDir = join(root, 'state');
/** The CLI runs here, outside the project: the bin must not depend on the caller's folder. */
const workDir = join(root, 'work');
mkdirSync(workDir);

const APP = '887757be-5eda-48ce-b427-79dcc0705e91';
const OTHER_APP = '11111111-5eda-48ce-b427-79dcc0705e91';
const SPACE = '5b6e2f4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const ORG = '0c1d2e3f-1c3d-4e5f-8a9b-5b6e2f4a4a5b';
const STAGING_SPACE = '65a9e0b3-d78f-4e70-a1a8-d0e7f7b2c6af';
/** A space and an org no group is bound to. */
const CLOSED_SPACE = '22222222-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const CLOSED_ORG = '33333333-1c3d-4e5f-8a9b-5b6e2f4a4a5b';

let local: LocalProcess;

beforeAll(async () => {
  local = await startLocalProcess(stateDir);
});

afterAll(async () => {
  await local?.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a shell with nothing set for egressctl but local mode's state folder. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { EGRESS_API: _api, EGRESS_TOKEN: _token, ...env } = process.env;
  return { ...env, EGRESS_LOCAL_DIR: stateDir, ...extra };
}

/** Runs the binary and resolves with what it printed and its exit code. */
function ctl(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, [...args], { cwd: workDir, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function json<T>(schema: z.ZodType<T>, run: Run): T {
  expect(run, run.stderr).toMatchObject({ status: 0 });
  return schema.parse(JSON.parse(run.stdout));
}

const destinationsAnswer = z.object({
  total_destinations: z.number(),
  destinations: z.array(z.object({ id: z.string(), name: z.string() }).loose()),
});
const policiesAnswer = z.object({
  egress_policies: z.array(z.object({ id: z.string(), source: z.object({ id: z.string() }) }).loose()),
});
const cellsAnswer = z.object({ current_version: z.number(), cells: z.array(z.object({ name: z.string() }).loose()) });
const groupAnswer = z.object({
  guid: z.string(),
  name: z.string(),
  relationships: z.object({
    running_spaces: z.object({ data: z.array(z.object({ guid: z.string() })) }),
    staging_spaces: z.object({ data: z.array(z.object({ guid: z.string() })) }),
  }),
});
const importAnswer = z.object({
  dry_run: z.boolean(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  bindings_added: z.number(),
  changes: z.number(),
});

const currentVersion = async (): Promise<number> =>
  json(cellsAnswer, await ctl(['cells', '--json', '--max-age', '999999999', '--max-lag', '999999999'])).current_version;

describe('the binary', () => {
  it('is executable, is the package bin, and prints its help from any folder', async () => {
    expect(statSync(BINARY).mode & 0o111).not.toBe(0);
    const packageJson = z.object({ bin: z.record(z.string(), z.string()), scripts: z.record(z.string(), z.string()) });
    const pkg = packageJson.parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')));
    expect(pkg.bin.egressctl).toBe('bin/egressctl.js');
    const help = await ctl(['--help']);
    expect(help).toMatchObject({ status: 0, stderr: '' });
    for (const command of [
      'destinations create',
      'policies list',
      'security-groups bind GROUP',
      'cells',
      'explain',
      'import-asgs FILE',
    ]) {
      expect(help.stdout).toContain(`  ${command} `);
    }
    expect(help.stdout).toMatch(/^ {2}5 {2}explain: the connection would be denied$/m);
  });

  it('answers --help on every command, with its options and the exit codes', async () => {
    const npm = spawnSync('npm', ['run', '--silent', 'ctl', '--', 'import-asgs', '--help'], {
      cwd: PROJECT_ROOT,
      env: baseEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(npm).toMatchObject({ status: 0, stderr: '' });
    expect(npm.stdout).toMatch(/^usage: egressctl import-asgs FILE \[options\]$/m);
    expect(npm.stdout).toMatch(/^ {2}--dry-run +say what would change, change nothing$/m);
    expect(npm.stdout).toMatch(/^exit codes:$/m);
    expect((await ctl(['security-groups', 'bind', '--help'])).stdout).toMatch(
      /^ {2}--space GUID +a space \(repeatable\)$/m,
    );
  });
});

describe('exit codes', () => {
  it('2 for usage errors, with the mistake named and nothing on stdout', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^error: missing command$/m],
      [['destinatons', 'list'], /^error: unknown command "destinatons" \(commands: destinations, policies/m],
      [
        ['destinations', 'lst'],
        /^error: unknown command "destinations lst" \(destinations takes: list, create, update, delete\)/m,
      ],
      [
        ['security-groups'],
        /^error: security-groups: missing command \(security-groups takes: list, show, create, bind/m,
      ],
      [['destinations', 'list', '--bogus'], /^error: Unknown option '--bogus'$/m],
      [['destinations', 'delete'], /^error: destinations delete: expected ID, got none$/m],
      [['cells', '--max-lag', 'x'], /^error: --max-lag: "x" is not a whole number \(0 or more\)$/m],
      [['destinations', 'create', '--port', 'https'], /^error: --port: "https" is not a port or a range/m],
      [['explain', '--app', APP], /^error: explain: --space, --ip required \(see --help\)$/m],
      [
        ['explain', '--app', APP, '--space', APP, '--protocol', 'https'],
        /^error: explain: --host required \(see --help\)$/m,
      ],
      [['destinations', 'list', '--api', 'ftp://x'], /^error: --api: "ftp:\/\/x" is not an http\(s\) URL/m],
    ];
    // At once: each is a process of its own, and none reaches the API.
    const runs = await Promise.all(cases.map(([args]) => ctl(args)));
    for (const [index, [args, message]] of cases.entries()) {
      const run = runs[index] ?? { status: null, stdout: '', stderr: 'not run' };
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/^hint: /m);
      if (args.length > 0) expect(run.stdout).toBe('');
    }
  });

  it('3 when the API cannot be reached or there is no valid token, saying what to do', async () => {
    const empty = join(root, 'empty');
    const [unreachable, noLocalMode, noToken, badToken] = await Promise.all([
      closedPort().then((port) => ctl(['destinations', 'list', '--api', `http://127.0.0.1:${port}`])),
      ctl(['cells'], { EGRESS_LOCAL_DIR: empty }),
      ctl(['cells'], { EGRESS_LOCAL_DIR: empty, EGRESS_API: local.url }),
      ctl(['destinations', 'list'], { EGRESS_TOKEN: 'not-a-jwt' }),
    ]);
    expect(unreachable).toMatchObject({ status: 3, stdout: '' });
    expect(unreachable.stderr).toMatch(/^error: cannot reach the API at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/m);
    expect(unreachable.stderr).toMatch(/^hint: is it running \(`npm start` for local mode\)\?/m);

    expect(noLocalMode).toMatchObject({ status: 3, stderr: expect.stringMatching(/^error: no API to talk to$/m) });

    expect(noToken).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/^error: no token\nhint: set EGRESS_TOKEN/),
    });

    expect(badToken.status).toBe(3);
    expect(badToken.stderr).toMatch(/^error: GET \/networking\/v1\/external\/destinations → 401: /m);
    expect(badToken.stderr).toMatch(
      /^hint: token expired or missing: set EGRESS_TOKEN or run `npm run --silent token`$/m,
    );
  });

  it('1 when the API refuses, with its reason on one line', async () => {
    const run = await ctl([
      'destinations',
      'create',
      '--name',
      'broken',
      '--ip',
      '1.2.3',
      '--port',
      '80',
      '--protocol',
      'tcp',
    ]);
    expect(run).toMatchObject({ status: 1, stdout: '' });
    expect(run.stderr).toMatch(
      /^error: POST \/networking\/v1\/external\/destinations → 400: destinations\[0\]\.ips\[0\]\.start: must be an IPv4 address/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(await ctl(['import-asgs', join(root, 'missing.json')])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/^error: cannot read .*missing\.json: ENOENT$/m),
    });
  });
});

describe('destinations and policies', () => {
  it('creates from flags, lists as a table and as JSON, and updates and deletes', async () => {
    const created = await ctl(
      ['destinations', 'create', '--name', 'MySQL', '--description', 'Demo', '--ip', '23.96.35.235'].concat([
        '--port',
        '3306',
        '--protocol',
        'tcp',
      ]),
    );
    expect(created).toMatchObject({ status: 0, stderr: '' });
    expect(created.stdout).toMatch(/^ID +NAME +PROTOCOL +IPS +PORTS +DESCRIPTION$/m);
    expect(created.stdout).toMatch(/^[0-9a-f-]{36} +MySQL +tcp +23\.96\.35\.235 +3306 +Demo$/m);

    const [destination] = json(
      destinationsAnswer,
      await ctl(['destinations', 'list', '--name', 'MySQL', '--json']),
    ).destinations;
    expect(destination).toMatchObject({ name: 'MySQL' });
    const id = destination?.id ?? '';

    const policy = await ctl(['policies', 'create', '--source-id', APP, '--destination-name', 'MySQL']);
    expect(policy).toMatchObject({ status: 0, stderr: '' });
    expect(policy.stdout).toMatch(
      new RegExp(`^[0-9a-f-]{36} +app +${APP} +all +MySQL +tcp +23\\.96\\.35\\.235 +3306$`, 'm'),
    );

    const table = await ctl(['policies', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID +SOURCE +SOURCE ID +LIFECYCLE +DESTINATION +PROTOCOL +IPS +PORTS$/,
    );
    const policies = json(
      policiesAnswer,
      await ctl(['policies', 'list', '--source-id', APP, '--json']),
    ).egress_policies;
    expect(policies.map((item) => item.source.id)).toEqual([APP]);

    // Scenario 2: the database moves; only the flag given changes.
    const moved = await ctl(['destinations', 'update', id, '--ip', '216.58.195.78']);
    expect(moved).toMatchObject({ status: 0 });
    expect(moved.stdout).toMatch(/ MySQL +tcp +216\.58\.195\.78 +3306 +Demo$/m);

    // A destination in use is refused (exit 1); after its policy it goes.
    expect((await ctl(['destinations', 'delete', id])).stderr).toMatch(
      /→ 400: destination is still in use by egress policies/,
    );
    expect((await ctl(['policies', 'delete', policies[0]?.id ?? ''])).status).toBe(0);
    expect(await ctl(['destinations', 'delete', id])).toMatchObject({ status: 0 });
    expect(json(destinationsAnswer, await ctl(['destinations', 'list', '--json'])).total_destinations).toBe(0);
  });

  it('creates from a JSON file', async () => {
    const file = join(root, 'destinations.json');
    writeFileSync(
      file,
      JSON.stringify({
        destinations: [
          {
            name: 'pg',
            ips: [{ start: '10.0.0.5', end: '10.0.0.5' }],
            ports: [{ start: 5432, end: 5432 }],
            protocol: 'tcp',
          },
        ],
      }),
    );
    const run = await ctl(['destinations', 'create', '--file', file, '--json']);
    expect(json(destinationsAnswer, run).destinations.map((item) => item.name)).toEqual(['pg']);
  });
});

describe('security groups', () => {
  it('creates a group from a file, binds it to spaces and an org, enables it globally and shows it', async () => {
    const file = join(root, 'group.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'public_networks_egress',
        rules: [{ protocol: 'all', destination: '0.0.0.0-9.255.255.255,11.0.0.0-169.253.255.255' }],
      }),
    );
    const created = await ctl(['security-groups', 'create', '--file', file]);
    expect(created).toMatchObject({ status: 0, stderr: '' });
    expect(created.stdout).toMatch(/^name: public_networks_egress$/m);

    expect(
      (await ctl(['security-groups', 'bind', 'public_networks_egress', '--space', SPACE, '--org', ORG])).status,
    ).toBe(0);
    const stagingBind = ['--space', STAGING_SPACE, '--lifecycle', 'staging'];
    expect((await ctl(['security-groups', 'bind', 'public_networks_egress', ...stagingBind])).status).toBe(0);
    const enabled = await ctl([
      'security-groups',
      'enable-globally',
      'public_networks_egress',
      '--lifecycle',
      'staging',
    ]);
    expect(enabled.stdout).toMatch(/^globally enabled: staging$/m);

    const shown = json(groupAnswer, await ctl(['security-groups', 'show', 'public_networks_egress', '--json']));
    expect(shown.relationships.running_spaces.data).toEqual([{ guid: SPACE }]);
    expect(shown.relationships.staging_spaces.data).toEqual([{ guid: STAGING_SPACE }]);
    const byGuid = await ctl(['security-groups', 'show', shown.guid]);
    expect(byGuid.stdout).toMatch(new RegExp(`^running organizations: ${ORG}$`, 'm'));

    const list = await ctl(['security-groups', 'list']);
    expect(list.stdout).toMatch(/^GUID +NAME +RULES +GLOBAL +RUNNING SPACES +STAGING SPACES +ORGS$/m);
    expect(list.stdout).toMatch(/ public_networks_egress +1 +staging +1 +1 +1$/m);

    const notBound = await ctl(['security-groups', 'unbind', 'public_networks_egress', '--space', STAGING_SPACE]);
    expect(notBound).toMatchObject({ status: 1, stderr: expect.stringMatching(/→ 422: CF-UnprocessableEntity: /) });
    expect(await ctl(['security-groups', 'show', 'no-such-group'])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/^error: no security group named "no-such-group"$/m),
    });
  });

  it('imports `cf curl /v3/security_groups` output idempotently: a second run changes nothing', async () => {
    const file = join(root, 'asgs.json');
    writeFileSync(
      file,
      JSON.stringify({
        pagination: { total_results: 2, total_pages: 1, next: null, previous: null },
        resources: [
          {
            guid: 'b85a788e-671f-4549-814d-e34cdb2f539a',
            created_at: '2020-02-20T17:42:08Z',
            name: 'trusted_local_networks_egress',
            globally_enabled: { running: true, staging: false },
            rules: [
              { protocol: 'tcp', destination: '10.10.10.0/24', ports: '443,80,8080' },
              { protocol: 'icmp', destination: '10.10.10.0/24', type: 8, code: 0, description: 'ping' },
            ],
            relationships: {
              running_spaces: { data: [{ guid: SPACE }] },
              staging_spaces: { data: [{ guid: STAGING_SPACE.toUpperCase() }] },
            },
            links: { self: { href: 'https://api.example.com/v3/security_groups/b85a788e' } },
          },
          {
            // Exists already (the test above): its staging global flag is dropped, a running space added.
            guid: 'c85a788e-671f-4549-814d-e34cdb2f539a',
            name: 'public_networks_egress',
            globally_enabled: { running: false, staging: false },
            rules: [{ destination: '0.0.0.0-9.255.255.255,11.0.0.0-169.253.255.255', protocol: 'all' }],
            relationships: {
              running_spaces: { data: [{ guid: SPACE }, { guid: STAGING_SPACE }] },
              staging_spaces: { data: [] },
            },
          },
        ],
      }),
    );
    const before = await currentVersion();
    const dryRun = json(importAnswer, await ctl(['import-asgs', file, '--dry-run', '--json']));
    expect(dryRun).toMatchObject({
      dry_run: true,
      created: 1,
      updated: 1,
      unchanged: 0,
      bindings_added: 3,
      changes: 2,
    });
    expect(await currentVersion()).toBe(before);

    const first = await ctl(['import-asgs', file]);
    expect(first).toMatchObject({ status: 0, stderr: '' });
    expect(first.stdout).toMatch(/^trusted_local_networks_egress +created +with 2 binding\(s\)$/m);
    expect(first.stdout).toMatch(/^public_networks_egress +updated +changed globally_enabled; bound 1 space\(s\)$/m);
    expect(first.stdout).toMatch(
      /^2 change\(s\): 1 created, 1 updated, 0 unchanged, 0 failed; 3 space binding\(s\) added$/m,
    );
    const afterFirst = await currentVersion();
    expect(afterFirst).toBeGreaterThan(before);

    const second = await ctl(['import-asgs', file]);
    expect(second).toMatchObject({ status: 0, stderr: '' });
    expect(second.stdout).toMatch(
      /^0 change\(s\): 0 created, 0 updated, 2 unchanged, 0 failed; 0 space binding\(s\) added$/m,
    );
    // No write at all: every write moves the version.
    expect(await currentVersion()).toBe(afterFirst);

    const imported = json(
      groupAnswer,
      await ctl(['security-groups', 'show', 'trusted_local_networks_egress', '--json']),
    );
    expect(imported.relationships.staging_spaces.data).toEqual([{ guid: STAGING_SPACE }]);
  });
});

describe('cells', () => {
  it('exits 4 when a cell is behind or stale, 0 within the thresholds, with a table or JSON', async () => {
    // A cell that applied version 0 two hours ago and has not synced since (no netns cells here: the
    // dry-run cell enforces nothing and is not listed). Its report is written as an agent writes it.
    const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: local.dynamodbEndpoint });
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000).toISOString();
    await storesFor(client, DEFAULT_TABLE_NAME).cells.record({
      name: 'cell-old',
      appliedVersion: 0,
      appliedAt: twoHoursAgo,
      syncedAt: twoHoursAgo,
      containers: 2,
      rules: 9,
    });
    client.destroy();

    const behind = await ctl(['cells']);
    expect(behind.status).toBe(4);
    expect(behind.stdout).toMatch(/^current version \d+, 1 cell\(s\)$/m);
    expect(behind.stdout).toMatch(/^CELL +APPLIED +LAG +BEHIND FOR +LAST SYNC +CONTAINERS +RULES +STATUS$/m);
    expect(behind.stdout).toMatch(/^cell-old +0 +\d+ +\S+ +2h0m ago +2 +9 +BEHIND \d+$/m);

    const stale = await ctl(['cells', '--json', '--max-lag', '1000000']);
    expect(stale.status).toBe(4);
    expect(cellsAnswer.parse(JSON.parse(stale.stdout)).cells.map((cell) => cell.name)).toEqual(['cell-old']);

    expect(await ctl(['cells', '--max-lag', '1000000', '--max-age', '86400'])).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/ ok$/m),
    });
  });
});

describe('explain', () => {
  it('prints ALLOWED with the policy as a reason and exits 0; DENIED and 5 for another app', async () => {
    expect(
      (
        await ctl([
          'destinations',
          'create',
          '--name',
          'explain-db',
          '--ip',
          '198.51.100.7',
          '--port',
          '5432',
          '--protocol',
          'tcp',
        ])
      ).status,
    ).toBe(0);
    expect((await ctl(['policies', 'create', '--source-id', APP, '--destination-name', 'explain-db'])).status).toBe(0);
    // In a space and org no group opens (public_networks_egress would allow 198.51.100.7 in SPACE).
    const connection = ['--space', CLOSED_SPACE, '--org', CLOSED_ORG, '--ip', '198.51.100.7', '--port', '5432'];

    const allowed = await ctl(['explain', '--app', APP, ...connection]);
    expect(allowed).toMatchObject({ status: 0, stderr: '' });
    expect(allowed.stdout).toMatch(/^ALLOWED \(policy version \d+\)$/m);
    expect(allowed.stdout).toMatch(/^ {2}egress_policy: .+$/m);
    expect((await ctl(['explain', '--app', APP, ...connection, '--protocol', 'udp'])).status).toBe(5);

    const denied = await ctl(['explain', '--app', OTHER_APP, ...connection, '--workload', 'task']);
    expect(denied.status).toBe(5);
    expect(denied.stdout).toMatch(/^DENIED \(policy version \d+\)$/m);

    // http: the cell proxy's verdict; no http destination here, so nothing lets it through.
    const request = [
      '--space',
      CLOSED_SPACE,
      '--protocol',
      'http',
      '--host',
      'httpbin.org',
      '--port',
      '80',
      '--path',
      '/get',
    ];
    const layer7 = await ctl(['explain', '--app', APP, ...request, '--headers', '{"x-env":"prod"}']);
    expect(layer7.status, layer7.stderr).toBe(5);
    expect(layer7.stdout).toMatch(
      /^ {2}layer7_refused: no http destination for app .+ on port 80: the connection is not sent to the proxy/m,
    );

    const asJson = await ctl(['explain', '--app', APP, ...connection, '--json']);
    expect(asJson.status).toBe(0);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      allowed: true,
      reasons: expect.arrayContaining([expect.objectContaining({ type: 'egress_policy' })]),
    });
  });
});
