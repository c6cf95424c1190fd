// The two error envelopes as zod schemas, for the OpenAPI document: v1's `{"error": ...}`
// (../middleware/error-response.ts) and Cloud Controller's V3 `{"errors": [...]}` (../v3/cf-errors.ts).
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
