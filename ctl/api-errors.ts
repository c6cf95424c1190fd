// An API error as one line plus a hint. Bodies come in three shapes: v1's `{"error": "..."}`, V3's
// `{"errors": [{code, title, detail}]}`, and API Gateway's own `{"message": "..."}` (bad token,
// missing scope, unknown route, before any handler runs).
import * as z from 'zod/mini';
import { escapeNonPrinting } from '../core/domain/validation.js';
import { CommandFailed, type CtlError, Unreachable } from './errors.js';

const v1Error = z.object({ error: z.string() });
const v3Errors = z.object({
  errors: z.array(z.object({ title: z.optional(z.string()), detail: z.optional(z.string()) })),
});
const gatewayError = z.object({ message: z.string() });

/** A body that is too long or not JSON is cut: the line stays one line. */
const MAX_QUOTED = 300;

/** What the body says went wrong, in one line. */
export function errorMessage(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const v1 = v1Error.safeParse(body);
  if (v1.success) return v1.data.error;
  const v3 = v3Errors.safeParse(body);
  if (v3.success && v3.data.errors.length > 0) {
    return v3.data.errors.map((error) => [error.title, error.detail].filter(Boolean).join(': ')).join('; ');
  }
  const gateway = gatewayError.safeParse(body);
  if (gateway.success) return gateway.data.message;
  const raw = text.trim();
  return raw.length > MAX_QUOTED ? `${raw.slice(0, MAX_QUOTED)}…` : raw || '(no body)';
}

function hintFor(status: number): string | undefined {
  if (status === 401) return 'token expired or missing: set EGRESS_TOKEN or run `npm run --silent token`';
  if (status === 403) {
    return 'the token lacks the scope this route needs (network.admin; V3 also cloud_controller.admin, and for reads cloud_controller.admin_read_only)';
  }
  if (status === 409 || status === 503) return 'the write lost to concurrent writers: run the command again';
  if (status >= 500) return "the API failed; its log has the details (local mode: `npm start`'s output)";
  return undefined;
}

export function apiRefusal(method: string, path: string, status: number, text: string, problem?: string): CtlError {
  const line = escapeNonPrinting(
    `${method} ${path} → ${status}: ${problem ?? errorMessage(text)}`.replace(/\s*\n\s*/g, ' '),
  );
  const hint = hintFor(status);
  return status === 401 ? new Unreachable(line, hint) : new CommandFailed(line, hint);
}
