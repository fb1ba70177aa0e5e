import type { OrderingKey } from '@oncehook/shared';
import type { IngestEnv } from '../env.ts';
import type { ErrorCode } from '../errors.ts';
import type { HeaderReader } from '../request-body.ts';

/**
 * Words used here: a *source* is what a delivery is addressed to (`/webhooks/<source>`) and the
 * first half of an event's identity; a *provider* module knows how one kind of sender signs and
 * names its events. Each built-in source is served by the provider module of the same name;
 * custom sources (SOURCES_FILE) are served by one generic module built from their spec.
 */

/** What a verifier sees: the raw bytes exactly as received, how they were addressed, and a clock. */
export interface WebhookRequest {
  rawBody: Buffer;
  headers: HeaderReader;
  /**
   * The full URL the sender addressed, query included: `PUBLIC_URL` + the request's path when set,
   * else the URL as this process received it. Only URL-signing schemes (Twilio) read it.
   */
  url: string;
  method: string;
  nowMs: number;
}

/** An answer that is not oncehook's JSON, for senders that read the body (Slack, Twilio). */
export interface RawAnswer {
  /** Empty: an empty 200. */
  body: string;
  contentType: string;
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
   * What identifies one signed delivery, for schemes that do not sign the raw bytes (Twilio signs
   * the URL and the decoded, sorted parameters: endless byte strings carry one signature). With
   * `idUnsigned`, a capture re-sent under a new id is then recognised by this instead of the body.
   */
  captureKey?: string;
  /**
   * The JSON to store and hand to the worker, when it is not the raw body itself (form-encoded
   * deliveries). The signature and the body hash stay on the raw bytes.
   */
  payload?: string;
  /** How an accepted (or duplicate) delivery is answered, when the sender shows or parses it. */
  answer?: RawAnswer;
  /** The object the event is about and the provider's creation time: per-object ordering. */
  order?: OrderingKey | undefined;
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
  /** The same, for a handshake answered with a raw body (Slack's ssl_check: empty). */
  | { ok: true; answer: RawAnswer }
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

/** How long a provider may deliver one event again, and where it says so. */
export interface RedeliveryWindow {
  readonly seconds: number;
  /** The provider's documentation (a URL, with the words that matter). */
  readonly source: string;
}

/**
 * Everything the ingest knows about one provider. A new provider is one of these, one registry line,
 * and (for the tests and `npm run webhook:send`) a fixture and a signer in testing/deliveries.ts.
 */
export interface ProviderModule<Name extends string = string> {
  /** The source it serves: `/webhooks/<name>`. */
  readonly name: Name;
  /** The variables its secrets come from (comma-separated values, for rotation); the first signs. */
  readonly secretEnv: readonly string[];
  readonly window: RedeliveryWindow;
  /** Signs a timestamp, and refuses one more than 300 s from our clock either way. */
  readonly timestamped: boolean;
  /** The verifier for the configured secrets; null when none is set: the source is not served. */
  create(env: IngestEnv): Verifier | null;
}

/** Keeps the literal name, so the registry knows every source by name. */
export const defineProvider = <const Name extends string>(module: ProviderModule<Name>) => module;

export const refuse = (reason: ErrorCode, message: string): Refusal => ({ ok: false, reason, message });
