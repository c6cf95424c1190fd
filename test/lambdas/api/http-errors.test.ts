// The one place failures become HTTP: callers' mistakes show their message, ours never do.
import { describe, expect, it } from 'vitest';
import {
  ContentionError,
  DomainError,
  IntegrityError,
  NotFoundError,
  ValidationError,
} from '../../../core/domain/errors.js';
import { HttpError, toErrorResponse } from '../../../lambdas/api/http-errors.js';

class SomeFutureError extends DomainError {
  readonly kind = 'future';
}

describe('toErrorResponse', () => {
  it('shows the message of the caller-facing errors with their status', () => {
    expect(toErrorResponse(new ValidationError('name: must not be empty'))).toMatchObject({
      statusCode: 400,
      message: 'name: must not be empty',
      internal: false,
    });
    expect(toErrorResponse(new NotFoundError('destination not found: x', ['x']))).toMatchObject({
      statusCode: 404,
      internal: false,
    });
    expect(toErrorResponse(new ContentionError('retry'))).toMatchObject({ statusCode: 409, internal: false });
    expect(toErrorResponse(new HttpError(413, 'too large'))).toMatchObject({ statusCode: 413, message: 'too large' });
  });

  it('hides the message of every other failure, domain errors included', () => {
    const hidden = { statusCode: 500, message: 'internal server error', internal: true };
    expect(toErrorResponse(new IntegrityError({ pk: 'DEST', sk: 'x' }, 'ips', 'expected array'))).toMatchObject(hidden);
    expect(toErrorResponse(new SomeFutureError('table dynamic-egress-prod is gone'))).toMatchObject(hidden);
    expect(toErrorResponse(new Error('secret'))).toMatchObject(hidden);
  });
});
