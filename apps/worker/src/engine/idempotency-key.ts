import { createHash } from 'node:crypto';

/** Stripe's limit; most APIs that take an Idempotency-Key accept at least as much. */
export const MAX_IDEMPOTENCY_KEY = 255;

// Visible ASCII only: a header value cannot carry arbitrary Unicode, and a key read back from a
// provider's dashboard should be the one we sent.
const READABLE = /^[\x21-\x7e]+$/;

/**
 * The idempotency key of one step of one workflow of one event: `source:eventId:workflow.step`
 * while that is short, visible ASCII; otherwise the event id is replaced by its SHA-256, so any
 * 256-character Unicode id still gives a stable key of at most 255 characters. The two forms
 * cannot collide short of a SHA-256 preimage (`~` marks the hashed form).
 */
export function idempotencyKey(source: string, eventId: string, workflow: string, step: string): string {
  const readable = `${source}:${eventId}:${workflow}.${step}`;
  if (readable.length <= MAX_IDEMPOTENCY_KEY && READABLE.test(readable) && !eventId.startsWith('~')) {
    return readable;
  }
  const digest = createHash('sha256').update(eventId, 'utf8').digest('base64url');
  return `${source}:~${digest}:${workflow}.${step}`;
}
