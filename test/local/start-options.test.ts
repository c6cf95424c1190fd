// `npm start`'s flags and environment: what each one sets, its help, and the usage errors (exit 2) word for word.
import { describe, expect, it } from 'vitest';
import { parseStartOptions, START_COMMAND_LINE, startHelp } from '../../local/start-options.js';

describe('npm start options', () => {
  it('default to port 8080, a free DynamoDB port, one dry-run cell, the in-process agent and the local issuer', () => {
    expect(parseStartOptions([], {})).toEqual({
      ok: true,
      options: { inMemory: false, port: 8080, dynamodbPort: 0, agentMode: 'in-process' },
    });
  });

  it('read every variable npm start knows', () => {
    const parsed = parseStartOptions(['--in-memory'], {
      PORT: '0',
      EGRESS_DYNAMODB_PORT: '8000',
      EGRESS_LOCAL_CELLS: 'cells.json',
      EGRESS_RESYNC_SECONDS: '60',
      EGRESS_LOCAL_AGENT: 'process',
      EGRESS_JWKS_URL: 'https://uaa.example/token_keys',
      EGRESS_JWT_ISSUER: 'https://uaa.example/oauth/token',
      EGRESS_JWT_AUDIENCE: 'dynamic-egress',
    });
    expect(parsed).toEqual({
      ok: true,
      options: {
        inMemory: true,
        port: 0,
        dynamodbPort: 8000,
        cellsFile: 'cells.json',
        resyncIntervalMs: 60_000,
        agentMode: 'process',
        jwt: {
          jwksUrl: 'https://uaa.example/token_keys',
          issuer: 'https://uaa.example/oauth/token',
          audience: 'dynamic-egress',
        },
      },
    });
  });

  it('treat empty EGRESS_LOCAL_CELLS and EGRESS_JWKS_URL as unset, and a JWKS URL alone as empty issuer and audience', () => {
    const parsed = parseStartOptions([], { EGRESS_LOCAL_CELLS: '', EGRESS_JWKS_URL: '' });
    expect(parsed.ok && Object.keys(parsed.options)).toEqual(['inMemory', 'port', 'dynamodbPort', 'agentMode']);
    expect(parseStartOptions([], { EGRESS_JWKS_URL: 'https://uaa.example/token_keys' })).toMatchObject({
      ok: true,
      options: { jwt: { jwksUrl: 'https://uaa.example/token_keys', issuer: '', audience: '' } },
    });
  });

  it('refuse unknown arguments, each named once', () => {
    expect(parseStartOptions(['--in-memory', '--bogus', 'x', '--bogus'], {})).toEqual({
      ok: false,
      error: 'unknown argument(s): --bogus x (known: --in-memory --help)',
    });
    expect(parseStartOptions(['--in-memory=yes'], {})).toEqual({
      ok: false,
      error: '--in-memory takes no value, got "yes"',
    });
  });

  it.each(['abc', '-1', '65536', '80.5', '8080 '])(
    'refuse the port %j in PORT and EGRESS_DYNAMODB_PORT, naming it',
    (port) => {
      for (const name of ['PORT', 'EGRESS_DYNAMODB_PORT']) {
        expect(parseStartOptions([], { [name]: port })).toEqual({
          ok: false,
          error: `${name}: ${JSON.stringify(port)} is not a valid port (expected a whole number 0-65535; 0 picks a free one)`,
        });
      }
    },
  );

  it('take an empty PORT or EGRESS_DYNAMODB_PORT as unset, and 65535 as a port', () => {
    expect(parseStartOptions([], { PORT: '', EGRESS_DYNAMODB_PORT: '' })).toMatchObject({
      options: { port: 8080, dynamodbPort: 0 },
    });
    expect(parseStartOptions([], { PORT: '65535' })).toMatchObject({ options: { port: 65535 } });
  });

  it('refuse an EGRESS_RESYNC_SECONDS that is not seconds, naming it', () => {
    expect(parseStartOptions([], { EGRESS_RESYNC_SECONDS: 'hourly' })).toEqual({
      ok: false,
      error: 'EGRESS_RESYNC_SECONDS: "hourly" is not a valid interval (expected seconds, e.g. 60; 0 keeps the default)',
    });
    expect(parseStartOptions([], { EGRESS_RESYNC_SECONDS: '0.5' })).toMatchObject({
      options: { resyncIntervalMs: 500 },
    });
  });

  it('print one line per flag and per variable, each with its default, in the help', () => {
    const help = startHelp();
    expect(help).toMatch(/^usage: npm start \[-- --in-memory\]\n/);
    const names = [
      ...Object.keys(START_COMMAND_LINE.options).map((name) => `--${name}`),
      ...Object.keys(START_COMMAND_LINE.environment ?? {}),
    ];
    expect(names).toEqual(expect.arrayContaining(['--in-memory', 'PORT', 'EGRESS_LOCAL_CELLS', 'EGRESS_JWKS_URL']));
    for (const name of names) {
      expect(help).toMatch(new RegExp(`^ {2}${name} .*\\(default: [^)]+\\)$`, 'm'));
    }
    expect(help).toMatch(/^ {2}PORT +.*\(default: 8080\)$/m);
    expect(help).toMatch(/^ {2}EGRESS_RESYNC_SECONDS +.*\(default: 1800, as on AWS\)$/m);
  });

  it('refuse an EGRESS_SOURCE_IDS the API does not take, before anything starts', () => {
    expect(parseStartOptions([], { EGRESS_SOURCE_IDS: 'uuid' })).toEqual({
      ok: false,
      error: 'EGRESS_SOURCE_IDS must be guid or identifier, got "uuid"',
    });
    for (const value of ['guid', 'identifier', '']) {
      expect(parseStartOptions([], { EGRESS_SOURCE_IDS: value })).toMatchObject({ ok: true });
    }
    expect(startHelp()).toMatch(/^ {2}EGRESS_SOURCE_IDS +.*\(default: guid\)$/m);
  });

  it('read EGRESS_DENY_NETWORKS for every local cell, and refuse a bad one before anything starts', () => {
    const parsed = parseStartOptions([], { EGRESS_DENY_NETWORKS: '{"always":["169.254.169.254/32"],"staging":[]}' });
    expect(parsed).toMatchObject({
      ok: true,
      options: { denyNetworks: { always: ['169.254.169.254/32'], running: [], staging: [] } },
    });
    expect(parseStartOptions([], {})).not.toHaveProperty('options.denyNetworks');
    expect(parseStartOptions([], { EGRESS_DENY_NETWORKS: '{"always":["10.0.0.0/33"]}' })).toEqual({
      ok: false,
      error: 'EGRESS_DENY_NETWORKS: always[0]: must be an IPv4 CIDR block such as 169.254.169.254/32',
    });
    expect(startHelp()).toMatch(/^ {2}EGRESS_DENY_NETWORKS +.*\(default: none\)$/m);
  });

  it('refuse an agent mode other than in-process or process', () => {
    expect(parseStartOptions([], { EGRESS_LOCAL_AGENT: 'inprocess' })).toEqual({
      ok: false,
      error: 'EGRESS_LOCAL_AGENT must be "in-process" or "process", got "inprocess"',
    });
    expect(parseStartOptions([], { EGRESS_LOCAL_AGENT: '' })).toMatchObject({ ok: false });
  });

  it('check the arguments before the environment', () => {
    expect(parseStartOptions(['--bogus'], { EGRESS_LOCAL_AGENT: 'bogus' })).toMatchObject({
      error: expect.stringMatching(/^unknown argument/),
    });
  });
});
