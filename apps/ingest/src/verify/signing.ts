import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Refusal, refuse } from './types.ts';

/** How far a signed timestamp may lie from our clock, either way (Stripe, Slack, Standard Webhooks). */
export const TOLERANCE_SECONDS = 300;

/**
 * One answer for every signature failure of a source: missing header, wrong secret, tampered
 * body, stale or future timestamp. Saying which part failed would help only a forger.
 */
export const badSignature = (what: string): Refusal =>
  refuse(
    'invalid_signature',
    `Missing or invalid ${what}: the signature must match the raw body and a configured secret, with a timestamp within ${TOLERANCE_SECONDS} s.`,
  );

/**
 * How many signature entries of one header are looked at, at most (Stripe's `v1=`, Standard
 * Webhooks' `v1,`, a custom source's separator). Senders put one per live secret: 1, or 2 during a
 * rotation. Whatever an attacker sends, the cost of a delivery stays one pass over the body per
 * configured secret.
 */
export const MAX_SIGNATURE_ENTRIES = 8;

let macsComputed = 0;
/** MACs computed by the verifiers since start: O(secrets) per delivery, never O(entries). */
export const macsComputedSoFar = () => macsComputed;

/** Every HMAC a verifier computes goes through here. */
export function hmac(algorithm: string, key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  macsComputed++;
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Constant-time equality of two byte strings; different lengths are simply unequal. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The body as text, for the libraries that verify strings. Refused unless it is valid UTF-8:
 * decoding would replace bad bytes with U+FFFD, so two different byte strings could share one
 * signature — and one signed-body hash would no longer identify one signed delivery.
 */
export function utf8Text(raw: Buffer): { ok: true; text: string } | Refusal {
  if (!isUtf8(raw)) return refuse('invalid_encoding', 'The request body must be UTF-8.');
  return { ok: true, text: raw.toString('utf8') };
}

/** Unix seconds, strictly digits: `parseInt` would read "123abc" as 123. */
export function parseUnixSeconds(value: string | null | undefined): number | null {
  if (!value || !/^\d{1,12}$/.test(value)) return null;
  return Number(value);
}

export function withinTolerance(timestampSeconds: number, nowMs: number, tolerance = TOLERANCE_SECONDS) {
  return Math.abs(nowMs / 1000 - timestampSeconds) <= tolerance;
}
