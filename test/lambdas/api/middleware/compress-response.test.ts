// Response compression on its own and through the Lambda wrapper: gzip when the caller accepts it,
// plain otherwise, and a clear 406 (in each API's envelope) for a body no Lambda could return plain.
import { randomBytes, randomUUID } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Destination, type EgressPolicy, egressPolicyList } from '../../../../core/domain/types.js';
import { createApiHandler } from '../../../../lambdas/api/api-handler.js';
import { inListOrder } from '../../../../lambdas/api/handlers/list-egress-policies.js';
import {
  compressed,
  MAX_RESPONSE_BODY_BYTES,
  MIN_COMPRESSED_BYTES,
  preferredCoding,
} from '../../../../lambdas/api/middleware/compress-response.js';
import type { ApiDependencies, ApiEvent } from '../../../../lambdas/api/types.js';

describe('preferredCoding', () => {
  it.each([
    ['gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['gzip;q=0.5', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['gzip, br;q=0.5', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['*', 'br'],
    ['deflate, *;q=0.1', 'br'],
    ['gzip;q=0, *', 'br'],
    ['gzip;q=0.9, *;q=0.1', 'gzip'],
    [undefined, undefined],
    ['', undefined],
    ['deflate', undefined],
    ['gzip;q=0', undefined],
    ['gzip; q=0.000', undefined],
    ['*;q=0', undefined],
    ['gzip;q=banana', undefined],
    ['identity', undefined],
  ])('%s → %s', (header, expected) => {
    expect(preferredCoding(header)).toBe(expected);
  });
});

const APPS = Array.from({ length: 5_000 }, () => randomUUID());

describe('compressed', () => {
  const json = JSON.stringify({ items: Array.from({ length: 200 }, (_, k) => ({ id: `item-${k}`, value: k })) });
  const response = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: json };

  it('gzips a body the caller accepts gzip for, as base64, and says so', () => {
    const result = compressed(response, 'gzip, deflate');
    expect(result.isBase64Encoded).toBe(true);
    expect(result.headers).toEqual({
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      vary: 'accept-encoding',
    });
    const body = result.body ?? '';
    expect(body.length).toBeLessThan(json.length / 2);
    expect(gunzipSync(Buffer.from(body, 'base64')).toString('utf8')).toBe(json);
  });

  it('sends brotli to a caller that prefers it', () => {
    const result = compressed(response, 'gzip, br');
    expect(result.headers?.['content-encoding']).toBe('br');
    expect(brotliDecompressSync(Buffer.from(result.body ?? '', 'base64')).toString('utf8')).toBe(json);
  });

  it('leaves a body plain for a caller that accepts neither coding, or when it is small', () => {
    expect(compressed(response, 'deflate')).toEqual({
      ...response,
      headers: { ...response.headers, vary: 'accept-encoding' },
    });
    const small = { statusCode: 200, body: 'x'.repeat(MIN_COMPRESSED_BYTES - 1) };
    expect(compressed(small, 'gzip')).toEqual(small);
    expect(compressed({ statusCode: 204, body: '' }, 'gzip')).toEqual({ statusCode: 204, body: '' });
  });

  it('refuses a body larger than a Lambda returns when it cannot be compressed, and compresses it otherwise', () => {
    const huge = { statusCode: 200, body: 'x'.repeat(MAX_RESPONSE_BODY_BYTES + 1) };
    expect(() => compressed(huge, undefined)).toThrow(
      /too large to send uncompressed: send Accept-Encoding: br or gzip/,
    );
    expect(compressed(huge, 'gzip').headers?.['content-encoding']).toBe('gzip');
    const justUnder = { statusCode: 200, body: 'x'.repeat(MAX_RESPONSE_BODY_BYTES) };
    expect(compressed(justUnder, undefined).body).toBe(justUnder.body);
  });

  it("fits issue 13's 100,000 policies (5,000 apps, 10,000 destinations, list order) as gzip too", () => {
    const destinations: Destination[] = Array.from({ length: 10_000 }, (_, index) => ({
      id: randomUUID(),
      name: `destination-${index}`,
      description: `service ${index % 997}`,
      protocol: 'tcp',
      ips: [{ start: `10.${(index >> 8) & 255}.${index & 255}.1`, end: `10.${(index >> 8) & 255}.${index & 255}.1` }],
      ports: [{ start: 443, end: 443 }],
    }));
    // As the bench draws them (bench/list-size.bench.ts): 20 policies per app, each to a destination
    // drawn at random (seeded here), so an app's policies land far apart in the list.
    let seed = 13;
    const draw = (): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed % destinations.length;
    };
    const policies: EgressPolicy[] = [];
    for (const app of APPS) {
      for (let n = 0; n < 20; n += 1) {
        const destination = destinations[draw()];
        if (destination === undefined) throw new Error('no destination');
        policies.push({ id: randomUUID(), source: { type: 'app', id: app }, destination });
      }
    }
    const list = { statusCode: 200, body: JSON.stringify(egressPolicyList(inListOrder(policies))) };
    const result = compressed(list, 'gzip');
    expect(result.headers?.['content-encoding']).toBe('gzip');
    expect((result.body ?? '').length).toBeLessThanOrEqual(MAX_RESPONSE_BODY_BYTES);
  });

  it('refuses with 413 a body that is too large even compressed, naming what to do', () => {
    // Random base64 compresses to 3/4 of its size, and base64 takes it back to where it was.
    const incompressible = { statusCode: 200, body: randomBytes(MAX_RESPONSE_BODY_BYTES).toString('base64') };
    expect(() => compressed(incompressible, 'gzip')).toThrow(
      expect.objectContaining({
        statusCode: 413,
        message: expect.stringMatching(/even compressed \(gzip\): ask for less/),
      }),
    );
  });
});

describe('through the Lambda wrapper', () => {
  const noStore = (): ApiDependencies => ({}) as ApiDependencies;
  const event = (routeKey: string, rawPath: string, acceptEncoding?: string): ApiEvent =>
    ({
      version: '2.0',
      routeKey,
      rawPath,
      rawQueryString: '',
      headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
      isBase64Encoded: false,
      requestContext: { requestId: 'r', authorizer: { jwt: { claims: { scope: 'network.admin' }, scopes: null } } },
    }) as unknown as ApiEvent;
  const big = createApiHandler(
    async () => ({ statusCode: 200, body: { blob: 'y'.repeat(MAX_RESPONSE_BODY_BYTES) } }),
    noStore,
  );

  it('answers a v1 caller that cannot take gzip with a 406 in the v1 envelope', async () => {
    const response = await big(
      event('GET /networking/v1/external/egress_policies', '/networking/v1/external/egress_policies'),
    );
    expect(response.statusCode).toBe(406);
    expect(JSON.parse(response.body ?? '')).toEqual({
      error: expect.stringMatching(/^the response is \d+\.\d MB, .*send Accept-Encoding: br or gzip$/),
    });
  });

  it('answers a V3 caller that cannot take gzip with a 406 in CF envelope', async () => {
    const response = await big(event('GET /v3/security_groups', '/v3/security_groups', 'identity'));
    expect(response.statusCode).toBe(406);
    const body: unknown = JSON.parse(response.body ?? '');
    expect(body).toMatchObject({ errors: [{ detail: expect.stringContaining('send Accept-Encoding: br or gzip') }] });
  });

  it('gzips the same answer for a caller that takes it', async () => {
    const response = await big(
      event('GET /networking/v1/external/egress_policies', '/networking/v1/external/egress_policies', 'gzip'),
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-encoding']).toBe('gzip');
    const body: unknown = JSON.parse(gunzipSync(Buffer.from(response.body ?? '', 'base64')).toString('utf8'));
    expect(body).toEqual({ blob: 'y'.repeat(MAX_RESPONSE_BODY_BYTES) });
  });
});
