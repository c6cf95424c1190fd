// Compressed answers over real sockets: local mode's gateway sends a compressed Lambda body as its
// bytes, exactly what a plain request gets once decompressed, only to callers that ask for it.
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, startTestApi, type TestApi } from '../../helpers/local-api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
  const destinations = Array.from({ length: 30 }, (_, k) => ({
    name: `compressed ${k}`,
    ips: [{ start: `198.51.100.${k + 1}`, end: `198.51.100.${k + 1}` }],
    ports: [{ start: 443, end: 443 }],
    protocol: 'tcp',
  }));
  const created = await api.call('POST', `${API}/destinations`, { body: { destinations } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  for (const k of [1, 2, 3, 4]) {
    const group = await api.call('POST', '/v3/security_groups', {
      body: { name: `compressed ${k}`, rules: [{ protocol: 'tcp', destination: `10.${k}.0.0/16`, ports: '443' }] },
    });
    expect(group.status).toBe(201);
  }
});
afterAll(async () => {
  await api?.stop();
});

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bytes: Buffer;
}

/** A GET as sent: node:http adds no Accept-Encoding of its own (fetch would, and would unzip). */
function get(path: string, acceptEncoding?: string): Promise<RawAnswer> {
  const url = new URL(`${api.local.url}${path}`);
  return new Promise((done, fail) => {
    const headers: Record<string, string> = { authorization: `Bearer ${api.adminToken}` };
    if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
    request(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        done({ status: response.statusCode ?? 0, headers: response.headers, bytes: Buffer.concat(chunks) }),
      );
      response.on('error', fail);
    })
      .on('error', fail)
      .end();
  });
}

describe('response compression', () => {
  it.each([`${API}/destinations`, '/v3/security_groups'])(
    'gzips %s for a caller that asks, and only then',
    async (path) => {
      const plain = await get(path);
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toBe('accept-encoding');
      const text = plain.bytes.toString('utf8');
      expect(text.length).toBeGreaterThan(1024);

      const zipped = await get(path, 'gzip, deflate');
      expect(zipped.status).toBe(200);
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers['content-type']).toBe('application/json');
      expect(zipped.bytes.length).toBeLessThan(text.length / 2);
      const unzipped = gunzipSync(zipped.bytes).toString('utf8');
      // The same document (V3 links carry the same base URL either way).
      expect(JSON.parse(unzipped)).toEqual(JSON.parse(text));

      const brotli = await get(path, 'gzip, deflate, br');
      expect(brotli.headers['content-encoding']).toBe('br');
      expect(JSON.parse(brotliDecompressSync(brotli.bytes).toString('utf8'))).toEqual(JSON.parse(text));

      const refused = await get(path, 'gzip;q=0');
      expect(refused.headers['content-encoding']).toBeUndefined();
      expect(refused.bytes.toString('utf8')).toBe(text);
    },
  );

  it('leaves small answers and errors plain', async () => {
    const small = await get(`${API}/destinations?name=compressed%200`, 'gzip');
    expect(small.status).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
    const missing = await get(`${API}/nothing-here`, 'gzip');
    expect(missing.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(missing.bytes.toString('utf8'))).toHaveProperty('error');
  });
});
