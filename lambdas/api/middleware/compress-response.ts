// Compresses response bodies for callers that accept it (brotli, else gzip). HTTP APIs do not
// compress (REST APIs do), and a Lambda returns at most 6 MB, base64 included. 100,000 policies from
// 5,000 apps over 10,000 destinations are 31 MB of JSON and 4.2 MB of base64 brotli (5.9 MB as gzip:
// just under), in the list's order; with every app and destination distinct, their random ids alone
// exceed the limit, so such lists have to be filtered (`npm run bench -- list-size`). A body too large to return as the caller accepts it is
// refused with an error that says what to do, rather than the 502 API Gateway gives when the
// Lambda's answer is too large: 406 when compression would make it fit, 413 when even that does not.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type middy from '@middy/core';
import { HttpError } from '../http-errors.js';
import type { ApiEvent, ApiResponse } from '../types.js';

/** Below this a body goes as it is: gzip saves little and costs a header and a base64 round trip. */
export const MIN_COMPRESSED_BYTES = 1024;

/**
 * The most a body may be, in bytes, as the Lambda returns it: 6 MB for the whole invocation response,
 * less room for the status, headers and JSON envelope around the body.
 */
export const MAX_RESPONSE_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024;

export type ContentCoding = 'br' | 'gzip';

/**
 * The coding an Accept-Encoding header prefers among those we send (RFC 9110 §12.5.3): the one with
 * the higher weight above zero, brotli on a tie (smaller); a coding not named takes `*`'s weight.
 */
export function preferredCoding(header: string | undefined): ContentCoding | undefined {
  if (header === undefined) return undefined;
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    // `x-gzip` is gzip's old name.
    const name = coding === 'x-gzip' ? 'gzip' : coding;
    if (Number.isFinite(weight)) weights.set(name, Math.max(weights.get(name) ?? 0, weight));
  }
  const br = weights.get('br') ?? weights.get('*') ?? 0;
  const gzip = weights.get('gzip') ?? weights.get('*') ?? 0;
  if (br > 0 && br >= gzip) return 'br';
  return gzip > 0 ? 'gzip' : undefined;
}

/**
 * gzip at level 9 with the filtered strategy: a list's random ids are most of what is left after the
 * repeated JSON is matched, and deflate codes them better as literals than as the short chance
 * matches its default strategy takes. On the 31 MB policy list: 6.41 MB of base64 by default, 6.25
 * at level 9, 5.88 with both (under the limit); 380-500 ms instead of about 300.
 */
const GZIP_OPTIONS = { level: 9, memLevel: 9, strategy: constants.Z_FILTERED };

function encode(body: string, coding: ContentCoding): Buffer {
  // Quality 4: most of brotli's gain over gzip at gzip's speed (measured on a 33 MB policy list).
  return coding === 'br'
    ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })
    : gzipSync(body, GZIP_OPTIONS);
}

/** The response with its body compressed (base64, as Lambda carries binary bodies) when that is allowed and pays. */
export function compressed(response: ApiResponse, acceptEncoding: string | undefined): ApiResponse {
  if (typeof response.body !== 'string') return response;
  const bytes = Buffer.byteLength(response.body);
  if (bytes < MIN_COMPRESSED_BYTES) return response;
  const coding = preferredCoding(acceptEncoding);
  if (coding === undefined) {
    if (bytes <= MAX_RESPONSE_BODY_BYTES) return withVary(response);
    throw new HttpError(
      406,
      `the response is ${(bytes / 1048576).toFixed(1)} MB, too large to send uncompressed: send Accept-Encoding: br or gzip`,
    );
  }
  const body = encode(response.body, coding).toString('base64');
  if (body.length > MAX_RESPONSE_BODY_BYTES) {
    throw new HttpError(
      413,
      `the response is ${(body.length / 1048576).toFixed(1)} MB even compressed (${coding}): ask for less`,
    );
  }
  return withVary({
    ...response,
    headers: { ...response.headers, 'content-encoding': coding },
    body,
    isBase64Encoded: true,
  });
}

/** Caches must keep the compressed and the plain answers apart. */
function withVary(response: ApiResponse): ApiResponse {
  return { ...response, headers: { ...response.headers, vary: 'accept-encoding' } };
}

export function compressResponse(): middy.MiddlewareObj<ApiEvent, ApiResponse> {
  return {
    after: async (request) => {
      const { response } = request;
      if (response === null || response === undefined) return;
      request.response = compressed(response, request.event.headers?.['accept-encoding']);
    },
  };
}
