import { isIdentifier } from '../../core/domain/model-primitives.js';
import { HttpError } from './http-errors.js';
import type { ApiRequest } from './types.js';

/** `?id=a,b` → ['a', 'b']; undefined when the parameter is absent. */
export function commaList(request: ApiRequest, parameter: string): string[] | undefined {
  const raw = request.query[parameter];
  if (raw === undefined) return undefined;
  const values = raw
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  if (values.length === 0) throw new HttpError(400, `${parameter}: must list at least one value`);
  return values;
}

/** The `{id}` path parameter. An id we could never have issued names nothing: 404, not a store call. */
export function pathId(request: ApiRequest, what: string): string {
  const id = request.pathParameters.id ?? '';
  if (!isIdentifier(id)) throw new HttpError(404, `${what} not found: ${JSON.stringify(id.slice(0, 140))}`);
  return id;
}
