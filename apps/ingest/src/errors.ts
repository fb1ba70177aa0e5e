import { randomUUID } from 'node:crypto';
import type { Logger } from '@oncehook/shared';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * Every error the ingest answers, by code: the one list (documented in docs/api.md#errors).
 * A code is stable and machine-readable; its status is fixed here, never chosen at the throw site.
 * Every error leaves as `{ "error": { "code", "message", "requestId" } }`.
 */
export const ERRORS = {
  bad_request: 400,
  empty_body: 400,
  invalid_json: 400,
  invalid_encoding: 400,
  missing_payload: 400,
  missing_header: 400,
  missing_event_id: 400,
  invalid_query: 400,
  invalid_signature: 401,
  unauthorized: 401,
  cross_site_request: 403,
  dashboard_read_only: 403,
  not_found: 404,
  unknown_source: 404,
  admin_disabled: 404,
  not_failed: 409,
  replay_raced: 409,
  job_gone: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_an_object: 422,
  invalid_event_id: 422,
  invalid_event_type: 422,
  invalid_challenge: 422,
  too_many_attempts: 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERRORS;

/** The one error type routes throw; Hono's own HTTPException, with a code from the list. */
export class ApiError extends HTTPException {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(ERRORS[code], { message, cause: options?.cause });
  }
}

/**
 * Redis refused, timed out or is down: a delivery is not durable, so the provider must retry; an
 * admin request (`what` it could not do) changed nothing, and may be sent again.
 */
export const unavailable = (cause: unknown, what?: string) =>
  new ApiError(
    'unavailable',
    what
      ? `Redis is unavailable: ${what}; please retry.`
      : 'The event could not be stored durably; please retry.',
    { cause },
  );

/** An error's answer, with an id to find it in the logs (also sent as `X-Request-Id`). */
export function errorBody(c: Context, code: ErrorCode, message: string) {
  const requestId = randomUUID();
  c.header('X-Request-Id', requestId);
  return { error: { code, message, requestId } };
}

/** Hono's own exceptions (its body limit, a malformed request) get a code from the list too. */
const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export function toErrorResponse(err: Error, c: Context, log?: Logger) {
  // The rest of an oversized body is not taken in: the connection cannot serve another request,
  // so say so instead of leaving the client to find a broken socket on its next delivery.
  if (err instanceof HTTPException && err.status === 413) c.header('Connection', 'close');
  if (err instanceof ApiError) {
    if (err.status >= 500) log?.warn({ err: err.cause ?? err, code: err.code }, err.message);
    return c.json(errorBody(c, err.code, err.message), ERRORS[err.code]);
  }
  if (err instanceof HTTPException && CODE_BY_STATUS[err.status]) {
    const code = CODE_BY_STATUS[err.status] as ErrorCode;
    return c.json(errorBody(c, code, err.message || 'Request refused'), ERRORS[code]);
  }
  log?.error({ err }, 'unhandled error');
  return c.json(errorBody(c, 'internal', 'Internal error; the event was not acknowledged.'), 500);
}
