import Stripe from 'stripe';
import { PermanentError } from '../engine/workflow.ts';
import { type CreatePayment, IDEMPOTENCY_METADATA, type Payment, type PaymentsApi } from './payments.ts';

/**
 * Payments through the official Stripe SDK against any Stripe-compatible base URL (PAYMENTS_URL;
 * the SDK takes host, port and protocol, and always uses `/v1/...` paths).
 */
export function stripePayments(baseUrl: string, apiKey = 'sk_test_oncehook'): PaymentsApi {
  const url = new URL(baseUrl);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  const stripe = new Stripe(apiKey, {
    host: url.hostname,
    port: url.port || (protocol === 'https' ? 443 : 80),
    protocol,
    // One retry policy, the job's (backoff with jitter, then `failed`): a retry reuses the key anyway.
    maxNetworkRetries: 0,
    timeout: 20_000,
    telemetry: false,
  });

  return {
    kind: 'stripe',
    async create(req: CreatePayment): Promise<Payment> {
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: req.amount,
            currency: req.currency.toLowerCase(),
            confirm: true,
            payment_method: 'pm_card_visa',
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
            description: req.description,
            metadata: { ...req.metadata, [IDEMPOTENCY_METADATA]: req.idempotencyKey },
          },
          { idempotencyKey: req.idempotencyKey },
        );
        return {
          id: intent.id,
          amount: intent.amount,
          currency: intent.currency,
          status: intent.status,
          replayed: intent.lastResponse?.headers?.['idempotent-replayed'] === 'true',
        };
      } catch (err) {
        throw classify(err);
      }
    },
    async findByIdempotencyKey(key: string): Promise<Payment | null> {
      try {
        const found = await stripe.paymentIntents.search({
          query: `metadata['${IDEMPOTENCY_METADATA}']:'${key.replace(/[\\']/g, '\\$&')}'`,
          limit: 1,
        });
        const intent = found.data[0];
        if (!intent) return null;
        const { id, amount, currency, status } = intent;
        return { id, amount, currency, status, replayed: true };
      } catch (err) {
        throw classify(err);
      }
    },
  };
}

/**
 * 4xx means the request itself is wrong (a declined card, bad parameters, a key reused with other
 * parameters) and will be wrong again: permanent. Except: 401/403 (a key being rotated), 408, 409
 * (Stripe: the same key is still in flight) and 429, which a later attempt can get past.
 */
function classify(err: unknown): unknown {
  if (!(err instanceof Stripe.errors.StripeError)) return err;
  const status = err.statusCode;
  const transient = status === undefined || status >= 500 || [401, 403, 408, 409, 429].includes(status);
  return transient
    ? err
    : new PermanentError(`payments API refused (${status}): ${err.message}`, { cause: err });
}
