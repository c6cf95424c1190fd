// `npm start`'s flags and environment: what each one sets, and the usage errors (exit 2) word for word.
import { describe, expect, it } from 'vitest';
import { parseStartOptions } from '../../local/start-options.js';

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
      error: 'unknown argument(s): --bogus x (known: --in-memory)',
    });
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
