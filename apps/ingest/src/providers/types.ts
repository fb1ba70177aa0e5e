import type { IngestEnv } from '../env.ts';
import type { ErrorCode } from '../errors.ts';
import type { HeaderReader } from '../request-body.ts';

/**
 * Words used here: a *source* is what a delivery is addressed to (`/webhooks/<source>`) and the
 * first half of an event's identity; a *provider* module knows how one kind of sender signs and
 * names its events. Each built-in source is served by the provider module of the same name;
 * custom sources (SOURCES_FILE) are served by one generic module built from their spec.
 */

/** What a verifier sees: the raw bytes exactly as received, and an injectable clock. */
export interface WebhookRequest {
  rawBody: Buffer;
  headers: HeaderReader;
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

/** Why a delivery is refused: a code from the ingest's one list (errors.ts), which fixes its status. */
export interface Refusal {
  ok: false;
  reason: ErrorCode;
  message: string;
}

export type Verification =
  | { ok: true; event: VerifiedEvent }
  /** Answered directly and stored nowhere, e.g. Slack's url_verification challenge. */
  | { ok: true; reply: Record<string, unknown> }
  | Refusal;

export interface Verifier {
  /** Also accepts `application/x-www-form-urlencoded` bodies (the verifier unwraps them). */
  readonly acceptsForm?: boolean;
  verify(req: WebhookRequest): Verification | Promise<Verification>;
}

/** A served source: its verifier and how long it remembers an event id. */
export interface Provider extends Verifier {
  /** At least the provider's longest re-delivery window (the rule is `dedupeWindow` in shared). */
  readonly dedupeTtlSeconds: number;
}

export interface ProviderModule {
  /** The variables its secrets come from (comma-separated values, for rotation). */
  readonly secretEnv: readonly string[];
  /** How long the provider itself may re-deliver an event, where it documents that (seconds). */
  readonly windowSeconds?: number;
  /** The verifier for the configured secrets; null when none is set: the source is not served. */
  create(env: IngestEnv): Verifier | null;
}

export const refuse = (reason: ErrorCode, message: string): Refusal => ({ ok: false, reason, message });
