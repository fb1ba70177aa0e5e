import { type CreatePayment, IDEMPOTENCY_METADATA, type Payment, type PaymentsApi } from './payments.ts';
import { stripeClient, stripeFailure } from './stripe-client.ts';

/** Payments through the official Stripe SDK against any Stripe-compatible base URL (PAYMENTS_URL). */
export function stripePayments(baseUrl: string, apiKey?: string): PaymentsApi {
  const stripe = stripeClient(baseUrl, apiKey);

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
          reused: intent.lastResponse?.headers?.['idempotent-replayed'] === 'true',
        };
      } catch (err) {
        throw stripeFailure(err, 'payments API refused');
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
        return { id, amount, currency, status, reused: true };
      } catch (err) {
        throw stripeFailure(err, 'payments API refused');
      }
    },
  };
}
