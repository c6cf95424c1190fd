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

/**
 * A stored item is not what the store writes: damaged, edited by hand, or of a layout this code
 * does not know. Never the caller's fault; the API answers 500 without these details, which are
 * for the log. Names the item and the field, never the field's value.
 */
export class IntegrityError extends DomainError {
  readonly kind = 'integrity';
  constructor(
    /** The item's key, to find it in the table. */
    readonly key: Readonly<{ pk: string; sk: string }>,
    /** The offending attribute as a path, e.g. `ports.0.start`. */
    readonly field: string,
    /** What is wrong with it, e.g. `expected int`. */
    readonly problem: string,
  ) {
    super(`stored item pk=${JSON.stringify(key.pk)} sk=${JSON.stringify(key.sk)} is invalid: ${field}: ${problem}`);
  }
}

/** An unbind of a space or organisation the group is not bound to (CF answers 422). */
export class NotBoundError extends ValidationError {
  constructor(
    message: string,
    readonly targetGuid: string,
  ) {
    super(message);
  }
}
