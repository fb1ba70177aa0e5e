import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The one error type routes throw. `code` is a stable machine-readable string; `message` is for
 * the human reading the provider's delivery log. Every error leaves as
 * `{ "error": { "code", "message", "requestId" } }`.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Redis refused, timed out or is down: the event is not durable, so the provider must retry. */
export const unavailable = (cause: unknown) =>
  new ApiError(503, 'unavailable', 'The event could not be stored durably; please retry.', { cause });

export function errorBody(c: Context, code: string, message: string) {
  return { error: { code, message, requestId: c.get('requestId') as string | undefined } };
}

export function toErrorResponse(err: Error, c: Context) {
  if (err instanceof ApiError) {
    if (err.status >= 500) c.get('log')?.warn({ err: err.cause ?? err, code: err.code }, err.message);
    return c.json(errorBody(c, err.code, err.message), err.status);
  }
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? 'payload_too_large' : `http_${err.status}`;
    return c.json(errorBody(c, code, err.message || 'Request refused'), err.status);
  }
  c.get('log')?.error({ err }, 'unhandled error');
  return c.json(errorBody(c, 'internal', 'Internal error; the event was not acknowledged.'), 500);
}
