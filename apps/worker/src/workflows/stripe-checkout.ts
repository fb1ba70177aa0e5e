import { z } from 'zod';
import { defineWorkflow } from '../engine/define-workflow.ts';
import type { Services } from '../services/index.ts';
import { currency, email, providerId } from '../steps/fields.ts';
import { appendToLedger } from '../steps/ledger.ts';
import { formatMoney } from '../steps/money.ts';
import { sendReceipt } from '../steps/send-receipt.ts';
import { validate } from '../steps/validate.ts';

/** The parts of a Stripe `checkout.session.completed` event this workflow uses. */
const checkoutCompleted = z.object({
  data: z.object({
    object: z.object({
      id: providerId,
      amount_total: z.number().int().nonnegative().max(99_999_999_999),
      currency,
      customer_details: z.object({ email: email.nullish() }).nullish(),
    }),
  }),
});

/** Stripe Checkout paid: receipt to the customer, ledger entry of the session's total. */
export const stripeCheckout = defineWorkflow<Services>('stripe-checkout', {
  source: 'stripe',
  type: 'checkout.session.completed',
})
  .step(
    'validate',
    (event) => {
      const session = validate(checkoutCompleted, event.body, 'checkout session').data.object;
      return {
        sessionId: session.id,
        amount: session.amount_total,
        currency: session.currency,
        email: session.customer_details?.email ?? null,
      };
    },
    { pure: true },
  )
  .step('receipt', (_event, ctx) => {
    const { sessionId, amount, currency, email } = ctx.results.validate;
    const total = formatMoney(amount, currency);
    return sendReceipt(
      ctx,
      email
        ? {
            to: email,
            subject: `Your receipt: ${total}`,
            text: `Thank you for your order of ${total} (${sessionId}).`,
          }
        : null,
    );
  })
  .step('ledger', (event, ctx) => {
    const { sessionId, amount, currency } = ctx.results.validate;
    return appendToLedger(ctx, { amount, currency, reference: sessionId }, event);
  });
