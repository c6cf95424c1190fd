// The edge: the only place where failures become HTTP status codes and `{"error": ...}` bodies.
import { ContentionError, DomainError, NotFoundError, ValidationError } from '../../core/domain/errors.js';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Query parameters a route does not read. v1 answers 400 with `message`; V3 answers 422 with CF's
 * own wording (`cfDetail`), as Cloud Controller's list messages do.
 */
export class UnknownQueryError extends HttpError {
  constructor(
    message: string,
    readonly cfDetail: string,
  ) {
    super(400, message);
  }
}

export class UnauthorizedError extends HttpError {
  constructor(message: string, bearerError?: 'invalid_token') {
    const challenge = bearerError
      ? `Bearer error="${bearerError}", error_description="${message.replace(/["\\]/g, '')}"`
      : 'Bearer';
    super(401, message, { 'www-authenticate': challenge });
  }
}

/** A valid token without the scope a route needs; the challenge names it (RFC 6750 §3.1). */
export class ForbiddenError extends HttpError {
  constructor(message: string, requiredScope?: string) {
    super(
      403,
      message,
      requiredScope ? { 'www-authenticate': `Bearer error="insufficient_scope", scope="${requiredScope}"` } : {},
    );
  }
}

export interface ErrorResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly message: string;
  /** True when the failure is ours, not the caller's: log it, never show its details. */
  readonly internal: boolean;
}

export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof HttpError) {
    return { statusCode: error.statusCode, headers: error.headers, message: error.message, internal: false };
  }
  if (error instanceof DomainError) {
    const statusCode =
      error instanceof ValidationError
        ? 400
        : error instanceof NotFoundError
          ? 404
          : error instanceof ContentionError
            ? 409
            : undefined;
    if (statusCode !== undefined) return { statusCode, headers: {}, message: error.message, internal: false };
  }
  // Anything else is ours to fix (an IntegrityError names stored keys): logged, never shown.
  return { statusCode: 500, headers: {}, message: 'internal server error', internal: true };
}
