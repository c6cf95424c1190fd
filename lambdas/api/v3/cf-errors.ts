// Failures as Cloud Controller's V3 API reports them: `{"errors": [{code, title, detail}]}` with
// CF's codes (errors/v2.yml in cloud_controller_ng). The status follows CF, which differs from v1:
// a refused body or list parameter is 422, not 400.
import { ContentionError, DomainError, NotFoundError, ValidationError } from '../../../core/domain/errors.js';
import { type ErrorResponse, HttpError, toErrorResponse, UnknownQueryError } from '../http-errors.js';

interface CfError {
  readonly code: number;
  readonly title: string;
  readonly detail: string;
}

export interface V3ErrorResponse extends Omit<ErrorResponse, 'message'> {
  readonly body: { readonly errors: readonly CfError[] };
}

const unprocessable = (detail: string): CfError => ({ code: 10008, title: 'CF-UnprocessableEntity', detail });

/** CF's error for a status our edge produced (auth, routing, body parsing). */
function byStatus(statusCode: number, message: string): CfError {
  switch (statusCode) {
    case 400:
      return { code: 1001, title: 'CF-MessageParseError', detail: `Request invalid due to parse error: ${message}` };
    case 401:
      return { code: 10002, title: 'CF-NotAuthenticated', detail: 'Authentication error' };
    case 403:
      return {
        code: 10003,
        title: 'CF-NotAuthorized',
        detail: 'You are not authorized to perform the requested action',
      };
    case 404:
      return { code: 10010, title: 'CF-ResourceNotFound', detail: message };
    case 422:
      return unprocessable(message);
    default:
      // CF has no entry for the other client errors our edge gives (405, 406, 413): its InvalidRequest
      // says so without calling our refusal a server error; the status and detail say which.
      if (statusCode >= 400 && statusCode < 500) return { code: 10004, title: 'CF-InvalidRequest', detail: message };
      return { code: 10001, title: 'CF-ServerError', detail: message };
  }
}

export function toV3ErrorResponse(error: unknown): V3ErrorResponse {
  const envelope = (statusCode: number, cfError: CfError, headers: Readonly<Record<string, string>> = {}) => ({
    statusCode,
    headers,
    internal: false,
    body: { errors: [cfError] },
  });
  if (error instanceof UnknownQueryError) return envelope(422, unprocessable(error.cfDetail));
  if (error instanceof HttpError) {
    // A path parameter we could never have issued names nothing: CF's 404 says what was not found.
    return envelope(error.statusCode, byStatus(error.statusCode, error.message), error.headers);
  }
  if (error instanceof DomainError) {
    if (error instanceof ValidationError) return envelope(422, unprocessable(error.message));
    if (error instanceof NotFoundError) return envelope(404, byStatus(404, error.message));
    if (error instanceof ContentionError) {
      return envelope(503, { code: 10015, title: 'CF-ServiceUnavailable', detail: error.message });
    }
  }
  const mapped = toErrorResponse(error);
  return { ...envelope(mapped.statusCode, byStatus(500, 'An unknown error occurred.')), internal: true };
}
