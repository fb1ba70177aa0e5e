import type { Config } from '@oncehook/shared';

/** What a verifier sees: the raw bytes exactly as received, and an injectable clock. */
export interface WebhookRequest {
  rawBody: Buffer;
  headers: Headers;
  nowMs: number;
}

export interface VerifiedEvent {
  /** The provider's own stable id for the event: the dedupe key. */
  id: string;
  type: string;
  /**
   * Set by providers whose event id is not covered by the signature (it travels in a header):
   * the ingest then also dedupes on the hash of the signed body, so that a captured delivery
   * re-sent under a new id is recognised as a replay.
   */
  idUnsigned?: boolean;
  /**
   * The JSON to store and hand to the worker, when it is not the raw body itself (GitHub's
   * form-encoded `payload=` deliveries). The signature and the body hash stay on the raw bytes.
   */
  payload?: string;
}

export type Verification =
  | { ok: true; event: VerifiedEvent }
  /** Answered directly and stored nowhere, e.g. Slack's url_verification challenge. */
  | { ok: true; reply: Record<string, unknown> }
  | { ok: false; status: 400 | 401 | 415 | 422; code: string; message: string };

export interface Provider {
  readonly name: string;
  /** How long a delivered id is remembered: at least the provider's longest retry window. */
  readonly dedupeTtlSeconds: number;
  /** Also accepts `application/x-www-form-urlencoded` bodies (the verifier unwraps them). */
  readonly acceptsForm?: boolean;
  verify(req: WebhookRequest): Verification | Promise<Verification>;
}

/** Returns null when the source is not configured (no secret): it is then not served. */
export type ProviderFactory = (config: Config) => Provider | null;

export const refuse = (
  status: 400 | 401 | 415 | 422,
  code: string,
  message: string,
): Extract<Verification, { ok: false }> => ({ ok: false, status, code, message });
