// The message a schema's ValidationError gives for `body`; anything else (no error, another error)
// fails the test. Shared by the schema tests.
import { ValidationError } from '../../core/domain/errors.js';
import { parseWith } from '../../core/domain/validation.js';

export function validationMessage(schema: Parameters<typeof parseWith>[0], body: unknown): string {
  try {
    parseWith(schema, body);
  } catch (error) {
    if (error instanceof ValidationError) return error.message;
    throw error;
  }
  throw new Error('expected a validation error');
}
