// The domain's failures. Each carries what a caller needs; HTTP status codes are assigned at the
// edge (lambdas/api/http-errors.ts), never here.

export abstract class DomainError extends Error {
  abstract readonly kind: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks a rule of the model. */
export class ValidationError extends DomainError {
  readonly kind = 'validation';
}

/** A referenced object does not exist (a destination named by a policy). */
export class UnknownReferenceError extends ValidationError {
  constructor(
    message: string,
    readonly missingIds: string[],
  ) {
    super(message);
  }
}

/** A name that must be unique is already taken (or repeated within one request). */
export class NameConflictError extends ValidationError {
  constructor(
    message: string,
    readonly names: string[],
  ) {
    super(message);
  }
}

/** A destination cannot be deleted while policies refer to it. */
export class InUseError extends ValidationError {
  constructor(
    message: string,
    readonly policyIds: string[],
  ) {
    super(message);
  }
}

/** The object addressed by id does not exist. */
export class NotFoundError extends DomainError {
  readonly kind = 'not-found';
  constructor(
    message: string,
    readonly ids: string[],
  ) {
    super(message);
  }
}

/** Concurrent writers kept winning; the caller may retry. */
export class ContentionError extends DomainError {
  readonly kind = 'contention';
}
