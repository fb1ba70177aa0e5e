import { PermanentError } from '@oncehook/worker';

export interface Email {
  to: string;
  subject: string;
  text: string;
}

export interface SentEmail {
  id: string;
  reused: boolean;
}

/** The mail API the receipt step talks to: MAILER_URL, or a simulator in Redis when unset. */
export interface Mailer {
  readonly kind: 'http' | 'simulator';
  send(email: Email, idempotencyKey: string): Promise<SentEmail>;
  /**
   * The email sent with this idempotency key, if the API still knows it. Mail APIs forget keys
   * after a day or so; this is how a late retry finds out it already sent.
   */
  findByIdempotencyKey(idempotencyKey: string): Promise<SentEmail | null>;
}

/**
 * `POST {baseUrl}/emails` with a JSON body and an `Idempotency-Key` header; lookups are
 * `GET {baseUrl}/emails?idempotency_key=<key>` (200 with the email, or 404).
 */
export function httpMailer(baseUrl: string): Mailer {
  const endpoint = `${baseUrl.replace(/\/+$/, '')}/emails`;
  return {
    kind: 'http',
    async send(email, idempotencyKey) {
      const res = await reach(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(email),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      if (!res.ok) {
        const message = `mail API answered ${res.status}: ${text.slice(0, 200)}`;
        // As for payments: a 4xx other than these will be refused again, so do not retry it.
        const transient = res.status >= 500 || [401, 403, 408, 409, 429].includes(res.status);
        throw transient ? new Error(message) : new PermanentError(message);
      }
      return { id: idOf(text), reused: res.headers.get('idempotent-replayed') === 'true' };
    },
    async findByIdempotencyKey(idempotencyKey) {
      const res = await reach(`${endpoint}?idempotency_key=${encodeURIComponent(idempotencyKey)}`, {
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`mail API answered ${res.status} to a lookup: ${text.slice(0, 200)}`);
      return { id: idOf(text), reused: true };
    },
  };
}

/** fetch, whose failure (`fetch failed`) names the URL and, as its cause, why (refused, DNS, TLS). */
const reach = (url: string, init: RequestInit) =>
  fetch(url, init).catch((err: Error) => {
    throw new Error(`mail API unreachable at ${url} (MAILER_URL)`, { cause: err });
  });

function idOf(text: string): string {
  try {
    return String((JSON.parse(text) as { id?: unknown }).id ?? '');
  } catch {
    return '';
  }
}
