// The API Gateway stand-in's own HTTP behaviour, over real sockets: an oversized body closes the
// connection cleanly, and each request is logged once.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLineLog } from '../../../core/log.js';
import { HttpError } from '../../../lambdas/api/http-errors.js';
import { createApiGateway } from '../../../local/api/api-gateway.js';

const lines: string[] = [];
let written = 0;
let server: Server;
let port: number;

beforeAll(async () => {
  server = createApiGateway({
    routes: [
      { method: 'POST', path: '/things/{id}', handler: async () => ({ statusCode: 201, body: '{}' }) },
      { method: 'GET', path: '/things/{id}', handler: async () => ({ statusCode: 200, body: '{}' }) },
      { method: 'DELETE', path: '/things/{id}', handler: async () => ({ statusCode: 404, body: '{}' }) },
    ],
    onWritten: () => {
      written += 1;
    },
    // A stand-in verifier: "Bearer <subject>" passes with the admin scope.
    verifier: async (header) => {
      const subject = header?.replace(/^Bearer /, '');
      if (!subject) throw new HttpError(401, 'no token');
      return { sub: subject, scope: 'network.admin' };
    },
    requestLog: jsonLineLog({ service: 'test', write: (line) => lines.push(line) }),
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

interface RawExchange {
  readonly response: string;
  /** How the connection ended: 'end' for the server's FIN, or the error code of a reset. */
  readonly ending: string;
}

/** Sends raw bytes on one keep-alive socket and reads until the server ends it (or 5 s pass). */
function exchange(chunks: readonly (string | Buffer)[]): Promise<RawExchange> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let ending = 'still open';
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString();
    });
    socket.on('end', () => {
      ending = 'end';
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      ending = error.code ?? error.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      done({ response, ending });
    });
    for (const chunk of chunks) socket.write(chunk);
  });
}

describe('API gateway over HTTP', () => {
  it('answers an oversized body with 413 and Connection: close, then ends the socket cleanly', async () => {
    const size = 2 * 1024 * 1024;
    const request = `POST /things/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\nContent-Length: ${size}\r\n\r\n`;
    // A pooled client would send its next request on the same socket.
    const next = 'POST /things/2 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\nContent-Length: 2\r\n\r\n{}';

    const { response, ending } = await exchange([request, Buffer.alloc(size, 'a'), next]);

    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(response).toContain('larger than 1048576 bytes');
    // Told to close, not answered on a connection it may reuse, and not reset.
    expect(response.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(ending).toBe('end');
  });

  it('closes cleanly after 413 for a chunked body too (no Content-Length)', async () => {
    const chunk = Buffer.alloc(256 * 1024, 'a');
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const { response, ending } = await exchange([
      'POST /things/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\nTransfer-Encoding: chunked\r\n\r\n',
      ...Array.from({ length: 6 }, () => framed),
      '0\r\n\r\n',
    ]);

    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(ending).toBe('end');
  });

  it('logs one line per request: method, path, status, milliseconds and the token subject', async () => {
    lines.length = 0;
    await fetch(`http://127.0.0.1:${port}/things/7?secret=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice' },
      body: '{}',
    });
    await fetch(`http://127.0.0.1:${port}/things/8`, { method: 'POST', body: '{}' });
    await new Promise((done) => setTimeout(done, 50));

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'request',
        service: 'test',
        method: 'POST',
        path: '/things/7',
        status: 201,
        subject: 'alice',
      }),
      expect.objectContaining({ message: 'request', method: 'POST', path: '/things/8', status: 401 }),
    ]);
    expect(entries[0]?.ms).toEqual(expect.any(Number));
    expect(entries[0]?.timestamp).toEqual(expect.any(String));
    expect(entries[1]).not.toHaveProperty('subject');
  });

  it('says when a write was answered with a 2xx (local mode wakes its stream reader), and only then', async () => {
    const call = (method: string) =>
      fetch(`http://127.0.0.1:${port}/things/1`, { method, headers: { authorization: 'Bearer someone' } });
    const before = written;
    expect((await call('GET')).status).toBe(200);
    expect((await call('DELETE')).status).toBe(404);
    expect(written).toBe(before);
    expect((await call('POST')).status).toBe(201);
    expect(written).toBe(before + 1);
  });
});
