import { PermanentError } from '@oncehook/worker';
import Stripe from 'stripe';

/**
 * The official Stripe SDK pointed at any Stripe-compatible base URL (PAYMENTS_URL; the SDK takes
 * host, port and protocol, and always uses `/v1/...` and `/v2/...` paths).
 */
export function stripeClient(baseUrl: string, apiKey = 'sk_test_oncehook'): Stripe {
  const url = new URL(baseUrl);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return new Stripe(apiKey, {
    host: url.hostname,
    port: url.port || (protocol === 'https' ? 443 : 80),
    protocol,
    // One retry policy, the job's (backoff with jitter, then `failed`): a retry reuses the key anyway.
    maxNetworkRetries: 0,
    timeout: 20_000,
    telemetry: false,
  });
}

/**
 * 4xx means the request itself is wrong (a declined card, bad parameters, a key reused with other
 * parameters, an object that does not exist) and will be wrong again: permanent. Except: 401/403
 * (a key being rotated), 408, 409 (Stripe: the same key is still in flight) and 429, which a later
 * attempt can get past.
 */
export function isPermanentStripeError(err: unknown): err is Stripe.errors.StripeError {
  if (!(err instanceof Stripe.errors.StripeError)) return false;
  const status = err.statusCode;
  return !(status === undefined || status >= 500 || [401, 403, 408, 409, 429].includes(status));
}

/**
 * What a failed Stripe call throws: a PermanentError saying `<refused> (<status>): <message>` when
 * retrying cannot help (isPermanentStripeError), else the error as it was, for the job to retry —
 * a connection that failed naming PAYMENTS_URL and why (the SDK's own message says "Stripe", which
 * a local PAYMENTS_URL is not).
 */
export function stripeFailure(err: unknown, refused: string): unknown {
  if (err instanceof Stripe.errors.StripeConnectionError && err.detail instanceof Error)
    return new Error(`no connection to the payments API (PAYMENTS_URL): ${err.detail.message}`, {
      cause: err.detail,
    });
  return isPermanentStripeError(err)
    ? new PermanentError(`${refused} (${err.statusCode}): ${err.message}`, { cause: err })
    : err;
}
