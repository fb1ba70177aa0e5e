import { type Refusal, refuse } from './types.ts';

/** `application/json`, and `application/<anything>+json`. */
export const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

export const MAX_EVENT_ID_CHARS = 256;
export const MAX_EVENT_TYPE_CHARS = 256;
// Control characters make logs lie; a lone surrogate has no UTF-8 form, so two such ids could
// collide once encoded into a job id.
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u;

/** Parses a webhook body that must be a JSON object. */
export function parseJsonObject(raw: Buffer): { ok: true; value: Record<string, unknown> } | Refusal {
  if (raw.length === 0) return refuse('empty_body', 'The request body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return refuse('invalid_json', 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refuse('not_an_object', 'The request body must be a JSON object.');
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Checks the event type any verifier produced: it is stored, logged and shown, so an oversized or
 * control-character type is refused rather than kept.
 */
export function checkEventType(type: string): Refusal | null {
  if ([...type].length > MAX_EVENT_TYPE_CHARS || UNPRINTABLE.test(type)) {
    return refuse(
      'invalid_event_type',
      `The event type must be printable and at most ${MAX_EVENT_TYPE_CHARS} characters.`,
    );
  }
  return null;
}

/** Checks an event id from any source: a non-empty printable string of at most 256 characters. */
export function checkEventId(id: unknown, field: string): Refusal | null {
  if (typeof id !== 'string' || id.length === 0) {
    return refuse('invalid_event_id', `${field} is required and must be a non-empty string.`);
  }
  if ([...id].length > MAX_EVENT_ID_CHARS) {
    return refuse('invalid_event_id', `${field} must be at most ${MAX_EVENT_ID_CHARS} characters.`);
  }
  if (UNPRINTABLE.test(id)) {
    return refuse(
      'invalid_event_id',
      `${field} must be printable Unicode (no control characters or lone surrogates).`,
    );
  }
  return null;
}
