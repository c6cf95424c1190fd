// The error envelopes as zod schemas, for the OpenAPI document: v1's `{"error": ...}`
// (../middleware/error-response.ts), Cloud Controller's V3 `{"errors": [...]}` (../v3/cf-errors.ts),
// and API Gateway's own `{"message": ...}` for what it answers before any handler runs on AWS.
import * as z from 'zod/mini';

export const v1ErrorBodySchema = z.strictObject({ error: z.string() });

export const cfErrorsBodySchema = z.strictObject({
  errors: z.array(
    z.strictObject({
      /** CF's error code (errors/v2.yml in cloud_controller_ng), e.g. 10008. */
      code: z.number().check(z.int()),
      /** CF's error name, e.g. `CF-UnprocessableEntity`. */
      title: z.string(),
      detail: z.string(),
    }),
  ),
});

/** API Gateway's body for a refused token (401, 403) or throttling (429): `{"message": "Unauthorized"}`. */
export const gatewayErrorBodySchema = z.strictObject({ message: z.string() });

/** 401 and 403: the handler's envelope in local mode, API Gateway's on AWS. */
export const v1AuthErrorBodySchema = z.union([v1ErrorBodySchema, gatewayErrorBodySchema]);
export const cfAuthErrorsBodySchema = z.union([cfErrorsBodySchema, gatewayErrorBodySchema]);
